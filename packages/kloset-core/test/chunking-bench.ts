/**
 * A quick chunker throughput measurement (not a test): `node test/chunking-bench.ts [MiB]` from
 * packages/kloset-core. Chunks random data with the default parameters, as one buffer and as a
 * stream of 64 KiB pieces, and prints MiB/s by wall time and by CPU time (the latter is steadier on
 * a busy machine). The first round includes JIT warm-up. PIECE=<bytes> sets the stream's piece
 * size. The stream is slower mostly because each chunk is copied once into a fresh array, and fresh
 * memory is slow to fault in on small VMs.
 */
import { randomFillSync } from 'node:crypto';
import { chunkBuffer, chunkStream, DEFAULT_CHUNKING, makeChunker } from '../src/chunking/fastcdc.ts';
import { deriveKeyRing } from '../src/crypto/key-ring.ts';
import { nodeCryptoProvider } from '../src/crypto/node-provider.ts';

const mib = Number(process.argv[2] ?? 256);
const data = randomFillSync(new Uint8Array(mib * 1024 * 1024));
const ring = deriveKeyRing(
  nodeCryptoProvider,
  nodeCryptoProvider.randomBytes(32),
  nodeCryptoProvider.randomBytes(32),
);

async function* pieces(size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function measure(name: string, run: () => Promise<number>): Promise<void> {
  for (let round = 1; round <= 3; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const chunks = await run();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    console.log(
      `${name} round ${round}: ${chunks} chunks, ${(mib / seconds).toFixed(0)} MiB/s wall, ${(mib / cpuSeconds).toFixed(0)} MiB/s cpu`,
    );
  }
}

await measure('buffer', async () => {
  let n = 0;
  for (const _ of chunkBuffer(data, makeChunker(DEFAULT_CHUNKING, ring.gear))) n++;
  return n;
});
await measure(`stream (${process.env.PIECE ?? 65536}-byte pieces)`, async () => {
  let n = 0;
  for await (const _ of chunkStream(pieces(Number(process.env.PIECE ?? 65536)), DEFAULT_CHUNKING, ring.gear))
    n++;
  return n;
});
