// Preloaded into a benched `gavel serve` (NODE_OPTIONS=--import <this file>): sets the V8 flags in
// GAVEL_BENCH_V8_FLAGS (space separated) before gavel loads. Some V8 flags, such as
// --optimize-for-size, are refused in NODE_OPTIONS but take effect when set this early.
import { setFlagsFromString } from 'node:v8';

for (const flag of (process.env.GAVEL_BENCH_V8_FLAGS ?? '').split(' ').filter(Boolean)) setFlagsFromString(flag);
