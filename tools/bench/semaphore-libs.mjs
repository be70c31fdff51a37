// Acquire + release of the contract's Semaphore against async-mutex's (weighted) Semaphore, at a
// capacity of 16 slots and at a byte budget of 64 MiB taken in 256 KiB steps (how the engine uses
// it). async-mutex 0.5 walks every free unit on each release (_drainUnlockWaiters), so its cost
// grows with the capacity. Needs async-mutex (npm install --no-save async-mutex@0.5).
//   node --conditions=kloset-source tools/bench/semaphore-libs.mjs
import { Semaphore } from '@kloset/connector-contract';
import { Semaphore as AsyncMutexSemaphore } from 'async-mutex';

const MiB = 1 << 20;
for (const [capacity, weight, n] of [
  [16, 1, 200_000],
  [64 * MiB, 256 * 1024, 20],
]) {
  let t = performance.now();
  const a = new AsyncMutexSemaphore(capacity);
  for (let i = 0; i < n; i++) {
    const [, release] = await a.acquire(weight);
    release();
  }
  const lib = ((performance.now() - t) * 1000) / n;
  t = performance.now();
  const s = new Semaphore(capacity);
  for (let i = 0; i < n; i++) s.release(await s.acquire(weight));
  const own = ((performance.now() - t) * 1000) / n;
  console.log(
    `capacity ${capacity}, weight ${weight}: async-mutex ${lib.toFixed(2)} us, contract ${own.toFixed(2)} us per acquire + release`,
  );
}
