import { Worker, isMainThread, parentPort } from 'node:worker_threads';
const x: number = 1;
if (isMainThread) {
  const w = new Worker(new URL(import.meta.url));
  w.on('message', (m) => console.log('got', m));
  w.on('error', (e) => console.log('err', e));
} else {
  parentPort!.postMessage({ hi: x });
}
