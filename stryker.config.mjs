// StrykerJS mutation testing (issue 7). Run with `npm run mutate` (not part of CI).
// Incremental: results are kept in reports/stryker-incremental.json (committed), so a
// run only re-tests mutants in changed code or covered by changed tests.
// Use `nice -n 10 npm run mutate` on a shared machine.
//
// Surviving mutants judged equivalent (no behaviour can tell them apart), with why:
// - src/engine/redact.ts secretsOf `value === undefined ||` -> false: stringsIn(undefined) adds nothing,
//   so skipping the early `continue` for a missing value collects the same (empty) set of secrets.
// - src/usage/meter.ts reservation() `type !== 'model.invoke' ||` -> false: estimate() makes the same
//   check and returns undefined for any other action, so no reservation is made either way.
// - src/usage/meter.ts stringAt `typeof v === 'string' ? v : ''` -> v: every caller compares the result
//   with a model name or 'model.invoke' or uses it as a price-table key; a non-string never matches, and
//   undefined behaves as '' in `routed || asked`.
// - src/usage/versions.ts `this.epoch++` -> `--` and `(v ?? 0) + 1` -> `- 1`: versions are only compared
//   for equality with the value a snapshot read; any change, up or down, makes the snapshot stale, and a
//   counter moving one way never returns to a value it held.
// - src/ledger/hash.ts `.update(text, 'utf8')` -> `''`: Hash.update treats an empty encoding as the
//   default, UTF-8; the bytes hashed are the same.
// - src/ledger/verify.ts lastGood `n.size > best` -> true / `>=`: the notes come ORDER BY size, so the
//   last note below the exported size is the largest either way (and it only shapes a message).
// - src/ledger/verify.ts `state.wanted.has(size)` -> true: remembering every size's hash instead of the
//   checkpointed ones costs memory on a 10M-entry ledger but reports the same.
// - src/ledger/verify.ts `rows.return?.()` -> `rows.return()`: better-sqlite3's iterators always have return.
// - src/ledger/verify.ts erased `body === null || salt === null` (&&, false on either side): both columns
//   are NOT NULL, so a LEFT JOIN makes them null together or not at all.
// - src/ledger/verify.ts classifyBrokenLink `state.beforeHead !== undefined &&` -> true: prev_hash is a
//   string and never equals undefined.
// - src/ledger/checkpoint.ts `name ?? ''`: split(' ') always yields a first element; `timeLine?.` -> `.`:
//   a note without a time line then throws a TypeError, which verifiedCheckpoint reports as
//   checkpoint_invalid like any unreadable note — the same verdict.
// - src/ledger/verify.ts storedHeader's message text: asserted by verify-report.test.ts, added after the
//   measured run (not re-measured).
// - src/engine/approvals/desk.ts get() `if (!isDue(a, now)) return a` -> false, and the re-checks under the lock
//   (`fresh && isDue(fresh, now)` in get and sweepOnce): the lock-free read and the read under the lock agree unless
//   another change lands between them; only a race can tell them apart.
// - desk.ts stagedChange `releasing !== undefined ?` -> true: stagedRelease(undefined) finds no charge and releases nothing.
// - desk.ts commit(): `rest.length > 0` mutants (records [] and absent are the same to the ledger), `if (!record)`
//   (every staged change has its record by construction), `err instanceof GavelError` (the ledger only rejects with
//   GavelError ledger_unavailable, which unrecorded() would produce anyway); `deps.onError ?? noop` -> `&&`.
// - desk.ts start() `sweepSeconds * 1000` -> `/ 1000`: the sweep then runs every millisecond instead of every second;
//   only timing can tell.
// - desk.ts `committed` counter mutants survive perTest analysis only: the metric test reads counts that earlier tests
//   committed (test/approvals/desk.test.ts checks events() directly).
// - src/engine/adaptive-runner.ts observe `ms > inlineSlowMs` -> `>=`: a measured duration equal to the bound to the
//   nanosecond; `ready()` -> {}: decisions wait for a worker that has not started anyway, ready() only says when.
// - src/engine/pool/worker-pool.ts idle `this.queue.length === 0` -> true: decisions wait in the queue only while every
//   live worker holds its 8 (then no slot has 0 jobs either) or while no worker is alive between a crash and its restart.
// - src/engine/pick-runner.ts `config.inlineMaxBytes === 0` -> false: the adaptive runner then wraps the pool with a
//   limit of 0 bytes, and no input is 0 bytes (the smallest is `{}`), so every evaluation still runs on a worker and
//   inlineEvaluations stays 0; the special case only spares the wrapper. `adaptive?.observe` -> `.observe`: the pool
//   calls onEvaluated only after an evaluation, and `adaptive` is assigned in the same synchronous turn that makes it.
// - src/engine/approvals/columns.ts setPath `dot < 0` -> `<= 0`: differs only for a path starting with a dot, and every
//   ApprovalField is a name or `policy.<name>`.
// - engine approvals, measured 2026-12-06 on `13b6a61` (session 13): `Buffer.byteLength(x, 'utf8')` -> `''` in desk.ts
//   checkResolve (three) and fingerprint.ts (approval_id): an empty encoding is the default, UTF-8. records.ts
//   `p.version !== undefined ?` -> true: the member is then undefined, which canonical JSON leaves out: the same payload.
//   desk.ts hold()/lockFingerprint() keys `approval\0<id>` / `fingerprint\0<fp>` -> ``: every approval (or every
//   fingerprint) then shares one lock; decisions wait for each other longer, their answers and entries are the same.
//   desk.ts watch()'s unsubscribe `listenerCount === 0 ? heard.delete`: memory only (the entry that keeps a shared
//   store's repeated change from being heard twice, kept for an approval nobody watches any more); emit()
//   `listenerCount > 0 ? heard.set` -> true: the same map also filled for approvals nobody watches; a watcher added
//   later is sent the current state first (transport/approval-service.ts), so a repeat it would miss is one it has.
//   desk.ts commit()'s `closedOnFailure('ledger_unavailable', …)` code -> '': the ledger rejects an append only with a
//   GavelError, which closedOnFailure passes on as it is. stagedChange `write.version !== undefined ?` -> true: as in records.ts.
//   The shared store's races are not reached by any test: another replica changing the row between this one's read and
//   write (`approval_changed`, retried), a change given up after its shared write (undone), a seal that fails; 32 of
//   the part's 33 mutants without coverage are there, and the `write.shared` survivors beside them.
// - src/ledger/policy-status.ts `e.decision === 'refused'` -> true: a policy entry's decision is activated, deactivated
//   or refused (engine/policy-event.ts), and the first two are handled before it. `isJsonObject(payload) &&
//   isJsonObject(payload.event)` -> the first alone: an event that is not an object (a string, an array) has no
//   string-valued source or signer and no entrypoints array either, so it reads as empty the same way.
// - src/usage/sqlite.ts windowsAt `this.lastWindows?.nowMs !== nowMs` -> true and `previous && previous.starts.day ===
//   starts.day` -> false: a cache of the window bounds; computing them afresh gives the same keys. stage `let inserted =
//   false` -> true: the ledger commits only after apply ran, and apply sets it. settled `size >= MAX_CACHED_KEYS` -> `>`
//   or false: a memory bound at 100,000 keys; the cache only spares reads, so clearing it later or never changes no answer.
//   `results[0]?.` -> `results[0].` in stage's and stagedRelease's finish: read only once committed, when the ledger hands
//   one result per row write.
// - src/ledger/file-identity.ts `catch { return undefined; }` -> `catch {}` (three): a function that falls off its end
//   returns undefined too. storedPublicKey/recordedWriterPid `row?.value` -> `row.value`: the TypeError is caught and
//   answers undefined, the same; their `{ readonly, fileMustExist }` -> {}: storedPublicKey checks the file exists first,
//   and recordedWriterPid runs only when another writer holds the file (so it exists); `finally { db?.close() }` -> {}:
//   a connection left for the garbage collector, which nothing observes.
// - src/ledger/keys.ts parseVerifierKey `last < 0` -> `<= 0`: `last` is searched for from `mid + 1` with `mid > 0`, so
//   it is -1 or at least 2, never 0.
// - src/ledger/shadow-table.ts write `rows.length === 0` -> false: an empty transaction writes nothing and counts 0;
//   close `if (this.closed) return` -> false: a second close flushes what waits, which is nothing (record refuses once closed).
// - src/usage/pricing.ts parsePriceTable `: []` -> `["Stryker was here"]` (models not an object): iterating the one
//   string yields [name, value] pairs of single characters, and a character is not an object, so no model is read.
// - src/usage/report.ts findPrice's last `{ price: undefined, currency }` -> {}: without a price the report is refused
//   before the currency is read. windows.ts localDay's year `padStart(4, '0')` -> `''`: years 1000-9999 have 4 digits
//   (and Date.parse of a bucket's day needs no padding below that either: no usage is dated before 1970).
// - src/ledger/row-writes.ts `statements.size >= MAX_STATEMENTS` -> clear never: a memory bound on prepared statements
//   (staged writes use a few dozen texts); a statement let go is prepared again, so no write changes either way.
//   `if (!stmt)` -> true: prepared again each time, the same statement (a cost, not a behaviour).
// - src/ledger/threaded.ts (part `thread`, session 20; test/ledger/threaded-calls and threaded-faults drive a real
//   writer with extras and a scripted one for the faults): ids `nextId++`/`nextCall++` -> `--` (unique either way);
//   append's `!this.scheduled` -> true and `scheduled = true` -> false (each append schedules a send, the first sends
//   what is queued, the rest find nothing: `outgoing.length === 0` -> false only posts an empty batch, answered with
//   no outcomes); `outgoing = []` -> `["Stryker was here"]` (the writer refuses an item without a record under an id
//   nothing here waits for); the thread's `name` (diagnostics only); open's `settle` (its `off` calls and their event names: the
//   once-listeners left behind settle a promise already settled); `c?.`, `w.staged?.` -> `.` and `if (!w)
//   continue` -> false (an answer only names a call or append that waits here; finish on an append without staged
//   rows throws into the catch around it, and the caller is answered the same), giveUp's `finish(false, [])` ->
//   `["Stryker was here"]` (a refused write reads no results), send's `if (w)` -> true (every item sent waits);
//   extraNow's `finally { port1.close() }` -> {} (a port never listened to holds nothing open); advance's `>=` ->
//   `>` (at one size, one head hash); closeWriter's `m.type === 'closed'` -> false and its `off('message')` event
//   name (a writer that says closed exits right after, and its exit resolves the same close, the listener going
//   with the thread; a failed close, and a writer that dies in its close, are tested); readerOf's `fileMustExist` -> false (a read-only open of a
//   missing file fails either way) and close's `this.reader.db.open` -> true (closing a closed connection is a no-op).
//   Measured again at 14a7091 (61.26% -> 88.36%); what that run left besides the above had no test then and has
//   one since (session 20, after that run; each broken by hand fails it): verify's three option pass-throughs
//   (progress, an external checkpoint, witnesses), readerOf's catch (a file without a ledger's meta), the exit
//   that ends a close whose writer died in it. Recorded in session 22 (incremental at `87db0ee` with test/ledger/** and
//   test/runtime/**, 28 minutes): 90.45% (303 of 335); every survivor left is one of those explained here. writer-protocol.ts errorOf `e.code !== undefined &&` -> true (Object.hasOwn of
//   `undefined` is false: no gavel code is named "undefined"); wireError's cause `typeof cause.code === 'string'`
//   -> true is killed since by a strict comparison (no `code: undefined` member).
// - Ledger `writer` (sqlite, wal-checkpointer, writer-lock, file-identity, schema, write-protect, keys, meta, config,
//   read-only, merge). Session 21 went through the survivors of the run at `781a7fa` (77.60%) and wrote tests for most
//   (the config refusals and defaultKeyPath, meta's missing id, the witness-key message, merge's ties, the erasure schema
//   step, the idle writer's timers, appendNow, a record without payload, a memory ledger's failed open, the checkpoint
//   count on reopen, erase's shadow results, checkpoint() of an empty ledger and of a signed size, writeRows, the
//   descriptors a closed or refused ledger keeps, the checkpointer's stop); openDatabase's mkdir and `pageSize !==
//   undefined` went (dead code). Session 22 recorded them: incremental at `10e1362` with the state, runtime and Merkle
//   ledger-tree tests, 68 minutes, the machine to itself: **87.90%** (734 of 835). Its survivors outside file-identity.ts
//   that were not explained below fail test/ledger/refusals.test.ts since (each broken by hand): the `ledger_unavailable`
//   code of every refusal by a closed or lost ledger (append, appendNow, writeRows, handOver, appendNow inside another
//   transaction) and the refused staged write's empty results, handOver (its flush of the queue, `closed = true`, its
//   refusal of what it could not write, the lock's release, a ledger in memory without lock or checkpointer), the
//   `synchronous` setting a full-durability ledger keeps across a checkpoint, erase's request check and verify's
//   onProgress and witnesses; enqueue's `alsoWrite` parameter went (no caller passed it). Equivalent:
//   keys.ts parseVerifierKey `last < 0` -> `<= 0` (last is searched from after the first '+', which is not at 0).
//   sqlite.ts: setHealth's `before.ok !== after.ok ||` -> false (health is `{ ok: true }` or `{ ok: false, reason }`, so
//   ok never changes without the reason); appendNow's `failClosed(failure, 'ledger_unavailable', …)` code -> '' (the
//   failure is settleFailed's, already a GavelError, passed on as it is); writeBatch's `extra && extra.length > 0` ->
//   true / `>=` (an empty list of extra records writes none); commitPrepared's head re-read after a failed transaction
//   -> {} and its catch (a transaction builds the next head locally and assigns it only after COMMIT, so the head in
//   memory is the file's unless a COMMIT fails after writing, which no test can cause); growTree's `>=` -> `>` (at equal
//   counts the rows after grownTo() are none); storeCheckpoint's `path !== ':memory:'` -> true (relaxing `synchronous`
//   on a database in memory changes nothing); checkpointIfBehind's `head.seq === lastCheckpointSize` -> false (attempt
//   checks `head.seq > lastCheckpointSize` again: one more WAL fsync), attempt's `>` -> `>=` (a size already signed is
//   refused by the checkpoints table's primary key, and attempt's catch takes it), `durability === 'full' || path ===
//   ':memory:'` -> false (the WAL fsync first: already synced by every commit with durability full, failing for a
//   database in memory, whose rejection path signs the same head) and its `attempt(this.head, false)` -> true (neither
//   relaxes `synchronous`); handOver's `await checkpointer?.stop(); await syncing` -> {} (the checkpointer thread then
//   ends just after the hand-over instead of before; a WAL sync still running signs on a query_only connection, which
//   fails into attempt's catch). write-protect.ts: the trigger name's `toLowerCase()` -> `toUpperCase()` (SQLite names
//   are case-insensitive, and nothing reads them back); schemaVersion's `read === undefined` -> true (prepares the
//   cookie read each time: a cache only).
//   sqlite.ts: settleWritten's `pending.staged?.finish` -> `.finish` (an entry without a staged write throws into the
//   catch around it, and the caller is answered the same); enqueue's refused `staged?.finish(false, [])` ->
//   `["Stryker was here"]` (a refused write reads no results); the constructor's `onDisk && keyPath` -> true
//   (checkKeyMatchesLedger finds no key file and returns); the `gavel_erasing` function's options
//   (`deterministic`, `varargs`: it takes no argument, and its value does not change within a statement);
//   `if (onDisk)` -> true (a ledger in memory ignores the WAL pragmas, and its checkpointer thread opens an empty
//   database of its own); the file timer's `if (this.opened)` -> true (checkFile answers at once without an identity);
//   enqueue's `!this.scheduled` -> true and the `scheduled = true` two -> false (more flushes of an empty queue);
//   flush's `if (this.closed) return` -> false (close wrote the queue, and enqueue refuses after it: nothing is left to
//   write); commitPrepared's `if (this.failure)` -> true (setHealth tells listeners of a change only); writeItem's
//   `writes.length > 0` -> true / `>=` (an empty list of writes runs nothing); transaction's `if (this.db.inTransaction)`
//   -> true (ROLLBACK without a transaction: only SQLite's own rollback on a full disk or I/O error leaves none, which no
//   test here can cause); checkpoint()'s `{ synced: false }` -> {} / true and checkpointIfBehind's `attempt(..., false)`
//   -> true where durability is full or the ledger in memory (synced decides only whether the checkpoint's commit is
//   fsynced, which only a power cut tells); `if (this.db.open) attempt(...)` -> true (an insert on a closed connection
//   throws into attempt's catch); close's `queue.length > 0` -> true / `>=` (flushing an empty queue) and its
//   `head.seq !== lastCheckpointSize && !lost` -> true / `||` (the head signed already finds its note stored; a lost
//   file's note goes to the unlinked file nobody reads).
//   write-protect.ts: registerWriter's options and `() => 1` -> undefined (a trigger only calls the function; its value
//   is not read). keys.ts: loadOrCreateKey's `'wx'` -> '' (only a key file made by someone else between the check and the
//   write tells them apart) and `'utf8'` -> '' (createPrivateKey reads the PEM bytes the same). schema.ts: the triggers'
//   `join('\n')` -> '' (each one's text starts on a new line). merge.ts: `limit === undefined ? tagged :` -> the slice
//   (slice(0, undefined) is the whole list) and the seq tie-break's `*` -> `/` (the same sign; never 0 for two items
//   of one ledger). read-only.ts: `fileMustExist` -> false (a read-only open of a missing file fails either way), the
//   copy's `rmSync(..., { force })` -> false (the folder is there), `code ?? ''` -> another string and
//   `startsWith('SQLITE_CANTOPEN')` -> endsWith (SQLite's extended CANTOPEN codes are not met on a read-only open).
//   writer-lock.ts: `{ timeout: 0 }` -> {} (a held lock is refused after SQLite's 5 s busy wait instead of at once: the
//   same refusal, later) and release's `this.db.open` -> true (closing a closed connection is a no-op).
//   wal-checkpointer.ts: stop()'s 2 s bound -> never (the thread exits on `stop` within milliseconds; the bound is for
//   one stuck in a checkpoint, which no test can hold there).
// - src/usage/key-reservations.ts, memory bounds only (the sums are the same either way): the compaction threshold
//   `queued > 4 * all.size + COMPACT_SLACK` (-> `>=`, `- COMPACT_SLACK`, `4 / size`), the prune threshold
//   `expired > PRUNE_AT` (-> `>=`, false), `if (entry.expired) this.expired--` (-> true, false, `++`: a count that only
//   times the prune). `get size()` -> {} (undefined: LiveReservations then never forgets an empty key, which reloads the
//   same empty rows anyway) and live-reservations.ts `held.size === 0` -> false (the same). Sums' `excluding ===
//   undefined ? undefined :` -> the lookup (get(undefined) is undefined); count() `leaves < r.expiresMs` -> `<=` (both
//   changes then fall at the same instant, and expiring takes the entry out of every window). Measured again after
//   session 13 made a held reservation smaller, on the usage and state tests alone (a lower bound): 92.44% (208 of 225);
//   the two survivors that change made reachable, the rolling queue's order and a new entry's `expired` flag, fail
//   test/usage/key-reservations.test.ts since.
// - src/usage/request-history.ts (usage `history`, 2026-12-06): insertSorted `time(xs[at - 1]) > t` -> `>=` (rows at the
//   same instant change places; every count is the same); read()'s default `staged = []` -> ["Stryker was here"] (a
//   string's characters have no subject, so none is counted); load()'s `decision: ''` -> another string (only 'deny'
//   counts, and denials are loaded apart); add()'s `row.atMs >= since - MINUTE` -> true (a row older than the minute is
//   dropped by the next read's forget() before anything counts it, and its tool count with it). buckets.ts keysAt's
//   `week < month` -> `<=` (equal, either is the lower bound).
// - Engine `contract` (2026-12-06, session 15; the engine, approvals, usage, failclosed, runtime, replay, shadow and policy
//   tests, a lower bound; offline.ts and policy-event.ts on the tests that reach them): result.ts strongest()'s
//   `rank < best` -> `<=` (equal ranks, the same effect) and `best === undefined ?` -> false (EFFECTS_BY_PRECEDENCE[undefined]
//   is undefined too); normaliseResultSet's `resultSet.length === 0` -> false (an empty set's first element is undefined,
//   which the next check answers with the same no_decision deny and message); `!(err instanceof ContractError)` -> false
//   (parseOutcome walks JSON values and throws only ContractError, so no other error reaches the catch); parseEffect's
//   `typeof value === 'string' &&` -> true (includes() of a non-string is false anyway). header-facts.ts
//   `Buffer.byteLength(value, 'utf8')` -> `''` (an empty encoding is UTF-8). The rest fail tests written after the first
//   run (test/engine/{engine-config,idempotency-recall,system-record,ledger-record,offline-record,policy-event-record}
//   .test.ts, the sorted entrypoints in evaluator-load.test.ts, records-less parts in ledger/row-writes.test.ts), each
//   line broken by hand, and the part run again with them (99.04%, 620 of 626: these six left).
// - Engine `decide` (2026-12-06, sessions 15-16; measured on the engine, approvals, failclosed and usage tests, a lower
//   bound): engine.ts abandoned()'s `deadlineMs !== undefined &&` -> true (`Date.now() >= undefined` is false anyway) and
//   `>=` -> `>` (a deadline equal to the millisecond); the shared-request check `findSharedRequest && GavelError &&
//   request_in_progress` -> `(a && b) || c` or `a || b` (without findSharedRequest, sharedRequest asks nothing and the
//   refusal stands; request_in_progress comes only as a GavelError); `recorded.findSharedRequest?.(` -> `(` and
//   `held?.sameAction` -> `held.sameAction` (called only when present; `open` implies held); replay's `job.recalled?.same`
//   -> `.same` (a job prepared with a recall always has its verdict); the approval retry's pause (`if (held?.approval)
//   await delay(APPROVAL_RETRY_MS * n)` -> always, never, `/ n`: only timing tells); the early `releaseFingerprint()` in
//   decideNew's finally -> {} (decide's release() lets it go a moment later: an identical call waits longer, answered
//   the same); the fault count's `reasons.some` -> `every` (a service fault is a lone reason). The rest fail
//   test/engine/{stages,decide-ports}.test.ts (session 16), each line broken by hand; answerOf, withApproval and
//   withPayloadKey's branches for a record without canonical text went with them (every record the engine builds has it).
//   Session 19, run again (incremental, at `407e85a`) on a wider set (the offline-record, trace-context and runtime
//   tests too): 95.25%, 376 of 394. Besides the above: `plan.abandon?.()` -> `plan.abandon()` (a plan with a shared
//   write always has it); recordOffline's `approval: null` in the evaluation request -> {} (only the redaction and the
//   hashed paths of that evaluation are kept, and neither reads the approval); untested: recordOffline's
//   `this.runner.discard(job)` made a no-op (the job's memory stays in the runner), its refusal without a
//   recorded-entries port (every runtime engine has one; the check is for an engine built without a ledger), and
//   recordPolicyEvent (reached by the ledger's policy-event tests, which spawn `gavel serve`).
// - Engine `runners` (2026-12-06, session 16; the engine tests, a lower bound): key-locks.ts acquire()'s fast path
//   (`waiters.length === 0 && every key free` -> false, and its `every` callback -> undefined): the slow path queues the
//   caller and wake() grants it in the same synchronous turn, the same keys in the same order; decision-locks.ts `held`'s
//   initial `[undefined x 4]` -> [] (an index never written reads undefined either way). adaptive-runner.ts's `>=` and
//   `ready()` and pick-runner.ts's two, above. The rest fail tests written after the run (test/engine/inline-runner.test.ts,
//   a twice-called release in key-locks.test.ts, a request lock without request locks and a lock asked for after
//   release() in decision-locks.test.ts, a closed adaptive runner's pool in adaptive-runner.test.ts), each line broken
//   by hand; evaluator.ts's own copy of lib/errors.ts errorMessage (16 mutants, 11 never reached) and pick-runner.ts's
//   repeated wasm limits (the config carries them already) went.
// - Engine `replay-shadow` (2026-12-06, session 17: 89.43%, after 61.92% and 85.50%; replay, compare, candidate-fixtures,
//   tally, replay-one, replayer, shadow, shadow-failures and decide-ports tests, a lower bound): replay-one.ts
//   storedPayload's `catch { return undefined }` -> `catch {}` (the value stays undefined, which the next check refuses the
//   same); replayer.ts's worker lanes: `lane.inFlight++` -> `--` and freeLane()'s `inFlight < BATCHES_PER_WORKER` /
//   least-busy choice (which lane takes a batch, and how many a worker may hold, bound memory and balance; results are
//   tallied in read order whichever lane answers), the worker count's `i <= workers` and `workers && 1` (one thread more
//   or fewer, the same report), the worker's name, the abort listener's `{ once: true }` (an abort fires once),
//   freeLane()'s `if (this.failure) throw` (waitForProgress() rejects with the same failure), the batch message's `t`
//   (the worker reads only its id and items), `waiting.get(...)?.` (every id is set before its batch is posted); the
//   workers' 'error' and 'exit' listeners and the 'fault' answer (a replay worker turns every batch's error into a
//   fault, and replayOne turns a candidate's trap into a DENY: these need the thread itself to crash, which a test here
//   cannot make happen on purpose); replay-worker.ts is the thread's port only (its 7 mutants run where the mutant switch
//   does not reach): what it does with a batch is batchReplayer and answerBatch, measured here. Killed since the run:
//   compare.ts's `typeof value.sha256 === 'string'` -> true (an array holding a digest's text), by a case in
//   compare.test.ts, the line broken by hand.
// - Engine `pool` (2026-12-06, session 17: 85.95%; the worker-pool, worker-pool-jobs, worker-pool-scheduling,
//   worker-handler, worker-young-generation, adaptive-runner, engine-config, approvals/workers, shadow and shadow-failures
//   tests, a lower bound). worker.ts is the thread's port only (its 9 mutants run where the mutant switch does not
//   reach); what a worker does with each message is worker-handler.ts, measured on this thread (one survivor since
//   killed: the evaluation's duration's `-` -> `+`). Equivalent in worker-pool.ts: `++this.nextId` / `++this.nextKey`
//   -> `--` (ids and keys stay unique); the prepare's transfer list -> [] and ownCopy's body and `'json' in` -> `'' in`
//   (the bytes are cloned instead of moved: the same message); free()'s `slot.jobs > 0` (a count is reset to 0 only when
//   its worker exited, and a dead slot is never chosen again); shadowIfIdle's conditions (runShadow checks them again
//   when it runs: they spare a setImmediate per answer while a busy worker has shadows waiting; session 17's run
//   measured the line as `length > 0` alone, and the other two came back after it) and runShadow's `if (!next) return` -> false (it needs a queue emptied
//   between the two checks, which one thread never sees); `!slot.loaded.has(key)` -> true in evaluate, shadow and
//   syncBundles and `wanted.has(key)` -> false (a bundle loaded again, or dropped and loaded again: the same set, at a
//   cost); the `slot.alive` checks in activate, activateShadow, discard, checkTimeouts and stop(), and close()'s
//   `if (this.closed) return` (a dead worker's postMessage and terminate() are no-ops, and it is replaced by a slot that
//   syncs itself); `if (!pending) return` (every answer has its call: ids are unique, and a dead worker answers
//   nothing); the watchdog's interval `Math.min` -> `Math.max` and `<=` -> `<` at the exact millisecond (when it looks,
//   not what it finds); the worker's name; `young > 0` -> `>= 0` and -> true (0 asks V8 for its own size either way);
//   the 'error' listener (handle() turns every message's error into a fault, so a worker error is its exit, which
//   onExit reports); the 30 s start-up timeout; the restart delay's young case (a worker lost within its first second
//   waits 1 s: which side of that second a worker dies on cannot be made certain here; the old case is tested) and the
//   idle getter's `queue.length === 0` (above). Killed by hand but not by StrykerJS's run: the restart timer's
//   `this.closed || ...` -> false (test/engine/worker-pool-scheduling.test.ts, "a worker lost just before the pool
//   closes", fails with it). Killed since the run: discard()'s `if (j.live)` -> true after a shadow hand-off, and the
//   watchdog's clock restarted by any message posted (`pending.size === 0` -> true), each line broken by hand.
// - Engine `input` (2026-12-06, session 17: 90.97%, 675 of 742; its 14 test files, a lower bound): most of its 61
//   survivors are fast paths whose slow path gives the same answer: needsNormalising / HAS_IGNORABLE /
//   CONFUSABLE_BLOCKS / HAS_CONFUSABLE / SPACE checks and the folded-character cache in scan-text.ts, redact.ts and
//   scan-view.ts (normalising text that needs none returns it unchanged); input-scan.ts's byte scanner's guards on depth
//   beyond maxDepth (only the depth is reported past it), its number fast accept (`/^-?\d{1,15}$/`, exact as a double
//   anyway) and the backslash and key-compare loops' `<` -> `<=` (a read one past the end is NaN, never a match);
//   inexactParams only when there are any. The two messages' `path || '/'` in input.ts's checkValues went (the root is
//   an object, so a number or a string always has a path). Session 18 (run again, 91.69%, 673 of 734), the rest of
//   input-scan.ts: equivalent are `i <= n`, `k <= end`, `k <= length`, `j <= text.length` (a read one past the end is
//   NaN or the closing quote), `++open >= scan.depth` (the same value stored), `j - 1 + k` and `j + 1 - k` (the same
//   parity as `j - 1 - k`), `j <= 0` (indexOf from j + 1 is never 0), the first rangeList entry (overwritten before it
//   is read), set mode taken earlier or later (`frame.ranges` against SMALL_OBJECT: the same answers), the raw key
//   `text.slice(keyStart, end)` as `text` and decoded()'s catch (used only when JSON.parse of one quoted key fails, and
//   then the whole text is refused as not JSON), `open > 0` on a closing bracket (only text that is not JSON closes
//   more than it opened; it is refused either way), exactDecimal's anchors and `m[4] ?? ''` (BigInt('') is 0n), and in
//   input.ts inexactParams set to undefined and `typeof value === 'string'` dropped before the surrogate test (a
//   number's text holds none). Killed by tests added after the run (test/engine/input-duplicates.test.ts,
//   input-bounds.test.ts), each line broken by hand: a negative, a 0-led, a space-led inexact number and the four
//   exponent spellings, 1e999 under params, a number at the depth limit, text that is no literal, a string that never
//   closes (the scan must end, not start over), inexactParamsOf after parseInputJson, and null members in a Struct.
// - Usage `shared-approvals` (2026-12-06, session 18, at `2d454ad`: 84.54%, 793 of 938; the approval store, schema,
//   config and harness tests, a lower bound). Killed since the run by tests in test/usage/postgres-approvals-store.test.ts
//   and postgres-config.test.ts, each line broken by hand: the listing's and openFor's checks again on the approval a row
//   vouches for (subject, team, approver role `some`, state, fingerprint, expiry: a forged unsealed change over a sealed
//   row is read as that row), the version of the row an unsealed change names, the state filter's paging, the watcher's
//   unsubscribe, redactUrl's fallback for a user name longer than one character, the config refusal's code. Equivalent
//   or bounds: `rows[0]?.n` (a count has its row), `row.sig === undefined`, sealOf's and approvalOf's undefined checks
//   (PostgreSQL gives null), `a.id !== row.id` (approvalOf reads that id column), reconcile's `typeof row.previous ===
//   'string'` (JSON.parse(null) is no previous row either), `this.read.get(a)?.version` (set for every approval read),
//   ROW_CHANGED and the seen-versions cap (module-level constants, evaluated on import before a mutant is active; the cap
//   bounds memory at 10,000 approvals), the page loop's `out.length < limit` / `rows.length < page` (reads more, answers
//   the same), writeAlone's BEGIN (one statement is atomic alone), close()'s `closed = true` (clearInterval already
//   stops the ticks), application names, and LISTEN's state machine under races (a second connect while one is
//   connecting, a replaced client's late events, closed while connecting, `end` after `error` of one dropped connection,
//   a notification on another channel or without an id: only this channel is listened to, every notify carries an id),
//   overlapping ticks and the polled map's cleanup (timing and memory). schema.ts: the table and index lists are built at
//   import (module-level, as above); migrate()'s BEGIN, advisory lock and ROLLBACK are what concurrent starts test
//   (test/usage/postgres-store.test.ts, outside this part's list); the refusals' two other hints are asserted since
//   (test/usage/postgres-schema.test.ts).
// - Usage `shared-store` (store.ts:1-463; 2026-12-06, session 18, at `167134f`: 80.15%, 214 of 267, 75 of them
//   timeouts while a CI run shared the machine; session 19, at `686dd78` with test/usage/postgres-read.test.ts and
//   postgres-approvals-store.test.ts, the machine to itself: 88.64%, 234 of 264, 31 timed out). Killed by
//   test/usage/postgres-read.test.ts (session 19), each line broken by hand: a read asked again at another time or without a reservation reads again (and the lock's rows are
//   only the first fetch's), the history kept in memory between decisions (the subject's key row found among the locked
//   rows, its own requests counted when committed, others' numbered by the bump of that row), a claim older than the
//   window taken over, a stage refused for another reason with a claim or an approval change (that refusal, not
//   request_in_progress or a decision made again), a connection cut under a claim, a claiming stage while the
//   store is down (no database error behind it), a stage with no read before it, the approval change committed with
//   the rows and, over a moved row, nothing written and the read ended, receipts noted several at once and unsigned
//   without a signer, key rows gone before a stage that read nothing (checked before anything is written now: it used
//   to commit first), the prune timer, an idle connection's error. Not measured (static: module-level, evaluated on
//   import before a mutant is active): EXPIRED_GRACE_MS (asserted by the pruning test in postgres-store.test.ts) and
//   UPSERT_CHARGE's column filter (a key column set to itself). Equivalent for every value a charge holds:
//   chargeLiterals' integer branch (a quoted literal is cast to the bigint column alike; the two differ only past 2^53,
//   which int() refuses and a literal would store, and no charge gets there: reports must be safe integers,
//   report.ts, and estimates are capped, meter.ts's MAX_ESTIMATED_TOKENS). Equivalent: `subject !== undefined` before the history read (a read without a history key asks for no
//   history: fromTable of no subject counts nothing, never read); batch()'s one-statement branch (every batch sends two
//   or more, and pg answers a list); what only reads or writes more for the same answer: fetchOnce's cache
//   conditions made `true` or their record emptied (read again, under the lock already held), head()'s `if (begun)`
//   (BEGIN and the lock again inside the transaction), the stage's and reconcile's `length > 0` guards (an empty batch
//   or delete), the initial scope lists given a stray entry (its rows match no scope asked for), `historyKey` of no
//   subject; end()'s release branch made ROLLBACK (a ROLLBACK outside a transaction, or on a broken connection, which
//   then releases it with the error); open()'s no-op 'error' listener on another event name (it guards the moments
//   between migrate and the store's own listener). Untested: the initial ledgerId (a store never attached writes '' as its rows'
//   ledger; every runtime attaches before its first decision), and the prune's own catch: the pool's 'error' for its
//   idle clients marks the store down first whenever the server goes while one is idle; the catch alone shows on a
//   replica idle past the pool's 10-second idle timeout, which a test would wait out; end()'s release of a client whose
//   ROLLBACK failed made a no-op (the pool loses one client per broken connection ended mid-transaction).
// - Usage `shared-claims` (store.ts:464-931, sql, history-cache, failure, health, row-signer; 2026-12-06, session 19,
//   at `9f30ff8`: 77.18%, 399 of 517, on the PostgreSQL store's tests and shared-state-runtime, a lower bound; again at
//   `407e85a` with the tests below, incremental: 88.39%, 457 of 517). Killed by test/usage/postgres-read.test.ts, postgres-settle-repair.test.ts, postgres-history-cache.test.ts and
//   postgres-parts.test.ts, each line broken by hand: receipts put back when their flush fails, a claim given up and a
//   take-back retried once the database is back; findRequest of no claim, of a claim without its receipt, without a
//   signer; the duplicate settlement's ROLLBACK (a lock left behind kept another replica's report waiting); each scope's
//   own rows in a read of three; stateRows' minute buckets as numbers; repairState's transaction, its baseline caller
//   and asked model, and the history generation it bumps; the request id prune's bound; the health reason's text; the
//   history log read, loaded again and counted (no key row, another generation, a row behind the log, a row committed
//   out of turn, `??` against `&&`); a probe failing after stop; int()'s code; approvals() refused for a signer
//   attached with no ledger id; after the second run, each scope's rows told from another scope's of the same name (a
//   subject and a team both called `ops`) and the release's empty writes; repairState's default for no request rows
//   went (its one caller passes them). Only timing tells: the settlement's own ROLLBACK after a refused entry (without it the
//   connection, closed on any failure, rolls back a moment after the caller hears). Equivalent: putBack's `has` check made true (the same receipt queued again), findRequest's
//   `seq === null || entry_hash === null` as `&&` or either half (one UPDATE sets both), stateRows' `typeof r.at ===
//   'string'` (pg gives bigint and text columns as strings alike), pruneOld's health check (the prune fails instead,
//   and its timer's catch takes that), repairState's `requests.length > 0` made true (a bump of no keys), the statement names ('' runs the same SQL
//   unprepared), `scopes.length > 0`, the fetch's initial values and `before.length > 0` (an empty list reads nothing,
//   an empty batch answers nothing), `subject !== undefined` (fromTable of no subject, never read), ensureKeys'
//   `missing.length === 0`, `found?.rows` (two statements give two results), `res.rows[0]?.value` (the row was just
//   inserted), `cached.seq < row.seq` (the query of none answers none), the recent rows' decision '' (denials are loaded
//   on their own), the 'release' spelling ('take back' is the only value tested), the checked-out client's error listener
//   made a no-op (a listener is still there, so nothing crashes; the broken connection's next query fails through
//   guard and marks the store down), failed() after close and a probe after stop (ProbedHealth ignores both),
//   health.ts's DatabaseError check, `default:` and initial cause (set before it is read), failure.ts's `code ?? ''`
//   (a DatabaseError always has its SQLSTATE). Untested: the watched-client set (without it each checkout adds one more
//   listener: memory and a MaxListeners warning), MAX_KNOWN_KEYS and MAX_SUBJECTS (memory bounds: a forgotten key or
//   log is read again), the background writes' `isDown` in the prune, flush, drop and take-back catches (true would
//   mark the store down for a failure that is no outage, which these writes do not meet in a test), and the guard's
//   "could not be reached in time" text (whether a cut connection's own error marks the store down first is a race).
//   Not measured: sql.ts's HISTORY (static).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  coverageAnalysis: 'perTest',
  mutate: ['src/ledger/**/*.ts', 'src/engine/**/*.ts', 'src/usage/**/*.ts'],
  // The vitest runner turns coverage off itself and runs the tests in one worker thread per test runner.
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Static mutants (module-level code) need every test for each mutant; they are few and mostly constants.
  ignoreStatic: true,
  // Only the mutated sources: Stryker's default also stamps `// @ts-nocheck` on the examples, which the README shows as they are.
  disableTypeChecks: 'src/**/*.ts',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  // Tests start servers and SQLite files, and the machine is shared: be generous before calling a mutant a timeout.
  timeoutMS: 4_000,
  timeoutFactor: 1.25,
  dryRunTimeoutMinutes: 30,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
