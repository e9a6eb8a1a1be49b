/**
 * The text content scanning reads (README "The input document", `context.scan`).
 * A pattern such as `\d{13,19}` or `jane@example\.com` sees code points, not what
 * a reader sees: full-width `４１１１`, Arabic-Indic `٤١١١`, digits split by an
 * invisible U+200B, `jane＠example。com` would all slip past it. So gavel scans a
 * normalised copy of each string:
 *
 *  1. format and default-ignorable code points (`\p{Cf}`, e.g. U+200B, U+00AD
 *     soft hyphen, U+2060, U+FEFF) are removed;
 *  2. Unicode NFKC: full-width and other compatibility forms become their plain
 *     letters, digits and punctuation (`４` → `4`, `＠` → `@`, NBSP → space);
 *     steps 1 and 2 run again when NFKC yields an ignorable (U+FFA0 → U+3164):
 *     removing it can leave a pair NFKC composes;
 *  3. every decimal digit (`\p{Nd}`, e.g. Arabic-Indic `٤`, Devanagari `४`)
 *     becomes its ASCII digit; every dash (`\p{Pd}`, e.g. U+2010, en dash) and
 *     U+2212 minus becomes `-`; every space separator (`\p{Zs}`) a space, U+2028
 *     and U+2029 a line feed; the ideographic full stop `。` a `.`.
 *
 * Pure ASCII is left as it is (none of the steps changes it), so a string is
 * checked for non-ASCII first and most strings cost one regex test.
 *
 * For the prompt-injection patterns, `skeleton` goes further, after Unicode
 * TS #39 (confusable detection): letters that look Latin are mapped to the Latin
 * letter they imitate (the table below, Cyrillic and Greek plus a few Latin
 * variants; TS #39's full table is far larger), on the NFD form (so `ό` is `ο`
 * and a mark, and reads `o` and that mark), and the result is lower case. Marks
 * stay, as in TS #39. It is for matching English instruction phrases only: it
 * garbles real Cyrillic or Greek text.
 */

const ASCII = /^[\u0000-\u007f]*$/;
const IGNORABLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const HAS_IGNORABLE = new RegExp(IGNORABLE.source, 'u');
/** What step 3 maps (ASCII excluded: it maps to itself); each match goes through `unify`. */
const UNIFIED = /(?![\u0000-\u007f])[\p{Nd}\p{Pd}\p{Zs}\u2212\u2028\u2029\u3002]/gu;
const DIGIT = /^\p{Nd}$/u;
const DASH = /^[\p{Pd}\u2212]$/u;
const SPACE = /^\p{Zs}$/u;

/** True when `normaliseText(text)` may differ from `text`: it holds a non-ASCII code point. */
export function needsNormalising(text: string): boolean {
  return !ASCII.test(text);
}

/** The form personal-data and injection patterns are matched on (steps 1–3 above); idempotent. */
export function normaliseText(text: string): string {
  if (!needsNormalising(text)) return text;
  let out = text.replace(IGNORABLE, '').normalize('NFKC');
  if (HAS_IGNORABLE.test(out)) out = out.replace(IGNORABLE, '').normalize('NFKC');
  return out.replace(UNIFIED, unify);
}

function unify(ch: string): string {
  if (DIGIT.test(ch)) return asciiDigit(ch);
  if (DASH.test(ch)) return '-';
  if (SPACE.test(ch)) return ' ';
  if (ch === '\u3002') return '.';
  return '\n'; // U+2028, U+2029
}

const digits = new Map<string, string>();

/**
 * The ASCII digit of a `\p{Nd}` code point. Unicode encodes decimal digits only in
 * contiguous runs of 0 to 9 (a stability guarantee), so a digit's value is its
 * distance from the start of its run of `\p{Nd}`, modulo 10 (some runs hold several
 * sets, e.g. the mathematical digits, which NFKC has already mapped anyway).
 */
function asciiDigit(ch: string): string {
  const known = digits.get(ch);
  if (known !== undefined) return known;
  const cp = ch.codePointAt(0)!;
  let start = cp;
  while (DIGIT.test(String.fromCodePoint(start - 1))) start--;
  const ascii = String((cp - start) % 10);
  digits.set(ch, ascii);
  return ascii;
}

/**
 * Letters that look like a Latin letter, mapped to it (a small part of Unicode
 * TS #39's confusables.txt: Cyrillic and Greek letters whose upper or lower case
 * reads as Latin, and Latin variants NFKC keeps). Upper case is listed where it
 * differs from the lower case's look (Greek `Υ` reads Y, `υ` reads u). Each
 * pair below is the letter, then the Latin letter it reads as.
 */
export const CONFUSABLES: Readonly<Record<string, string>> = Object.fromEntries(
  [
    // Cyrillic
    'аa Аa вb Вb еe Еe кk Кk мm Мm нh Нh оo Оo рp Рp сc Сc тt Тt уy Уy хx Хx ѕs Ѕs іi Іi јj Јj һh Һh ԁd ԛq Ԛq ԝw Ԝw ӏl Ӏl үy Үy ѵv Ѵv ԍg Ԍg',
    // Greek
    'αa Αa Βb βb γy εe Εe Ζz Ηh ιi Ιi κk Κk Μm νv Νn οo Οo ρp Ρp τt Τt υu Υy χx Χx',
    // Latin letters NFKC leaves alone
    'ıi ȷj ɑa ɡg ɩi ʀr ᴀa ᴄc ᴅd ᴇe ᴋk ᴍm ᴏo ᴘp ᴛt ᴜu ᴠv ᴡw ᴢz',
  ]
    .join(' ')
    .split(' ')
    .map((pair) => [...pair]),
);
const CONFUSABLE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'gu');
const HAS_CONFUSABLE = new RegExp(CONFUSABLE.source, 'u');
/** The blocks every key of CONFUSABLES, or a letter whose NFD starts with one, lies in: text outside them has no skeleton. */
const CONFUSABLE_BLOCKS = /[\u0131-\u052f\u1d00-\u1d2b\u1f00-\u1fff]/u;

/**
 * The lower-case skeleton of a normalised text (see the file comment), or
 * undefined when it holds no confusable letter: then it reads as the text in
 * lower case, which the policy scans anyway.
 */
export function skeleton(normalised: string): string | undefined {
  if (!CONFUSABLE_BLOCKS.test(normalised)) return undefined;
  const decomposed = normalised.normalize('NFD');
  if (!HAS_CONFUSABLE.test(decomposed)) return undefined;
  return decomposed.replace(CONFUSABLE, (ch) => CONFUSABLES[ch] ?? ch).toLowerCase();
}
