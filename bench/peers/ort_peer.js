// ONNX Runtime peer of bench/run.sh (node + onnxruntime-node, CPU execution provider).
//
//   node ort_peer.js bench --model M.onnx --batch N --time T --input I [--threads K]
//                          [--iters N | --budget SEC] [--warmup W]
//   node ort_peer.js infer --model M.onnx --batch N --time T --input I --x X.bin --out Y.bin
//
// The model (exported by torch_peer.py export) has one input `x` [N, T, I] and one output
// `y`. `bench` times session.run on a random input and prints
// `bench: mode=infer median_ms=... min_ms=... iters=N`; threads: intraOpNumThreads = K,
// interOpNumThreads = 1, sequential execution, all graph optimisations. `infer` reads X.bin
// (float32, [N, T, I]) and writes the output as float32 to Y.bin.
// onnxruntime-node is looked up in $ORT_NODE_MODULES (default: ../.peers/ort/node_modules).
'use strict';
const fs = require('fs');
const path = require('path');

function parse(argv) {
  const o = { threads: 1, iters: 0, budget: 1.0, warmup: 3 };
  o.command = argv[0];
  for (let i = 1; i < argv.length; ++i) {
    const k = argv[i].replace(/^--/, '');
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${argv[i - 1]}`);
    o[k] = ['model', 'x', 'out'].includes(k) ? v : Number(v);
  }
  return o;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const mods = process.env.ORT_NODE_MODULES ||
      path.join(__dirname, '..', '.peers', 'ort', 'node_modules');
  const ort = require(path.join(mods, 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(o.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const count = o.batch * o.time * o.input;
  let data;
  if (o.command === 'infer') {
    const buf = fs.readFileSync(o.x);
    if (buf.length !== count * 4) throw new Error(`${o.x}: expected ${count} floats`);
    data = new Float32Array(buf.buffer, buf.byteOffset, count);
  } else {
    data = new Float32Array(count);
    let s = 12345;
    for (let i = 0; i < count; ++i) {  // deterministic pseudo-random values in [-1, 1)
      s = (s * 1103515245 + 12345) >>> 0;
      data[i] = s / 2147483648 - 1;
    }
  }
  const feeds = { x: new ort.Tensor('float32', data, [o.batch, o.time, o.input]) };
  if (o.command === 'infer') {
    const res = await session.run(feeds);
    const y = res[session.outputNames[0]].data;
    fs.writeFileSync(o.out, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    return;
  }
  for (let i = 0; i < o.warmup; ++i) await session.run(feeds);
  const times = [];
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  for (;;) {
    if (o.iters > 0 ? times.length >= o.iters
                    : (times.length >= 3 && elapsed() >= o.budget) || times.length >= 100000)
      break;
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const n = times.length;
  const median = n % 2 ? times[(n - 1) / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  console.log(`bench: mode=infer median_ms=${median.toPrecision(6)} ` +
              `min_ms=${times[0].toPrecision(6)} iters=${n}`);
}

main().catch((e) => {
  console.error(`ort_peer: error: ${e.message || e}`);
  process.exit(1);
});
