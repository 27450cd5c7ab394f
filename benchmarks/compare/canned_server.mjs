// Canned OpenAI-compatible server for benchmarks/compare/clients: answers every
// /chat/completions and /embeddings request with a prepared body, so the clients, not the
// server, do the work. Prints its port on stdout, then serves until killed.
//   node canned_server.mjs ROWS DIMS
import http from 'node:http';

const rows = Number(process.argv[2] ?? 100);
const dims = Number(process.argv[3] ?? 1536);

const completion = Buffer.from(JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1700000000, model: 'gpt-4o-mini',
  system_fingerprint: 'fp_bench',
  choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: {
    role: 'assistant', refusal: null,
    content: 'The capital of France is Paris. It has been the capital since the 10th century ' +
             'and is known for the Eiffel Tower, the Louvre and its cafés.' } }],
  usage: { prompt_tokens: 24, completion_tokens: 38, total_tokens: 62,
           prompt_tokens_details: { cached_tokens: 0 },
           completion_tokens_details: { reasoning_tokens: 0 } },
}));

function embeddingBody(base64) {
  const data = [];
  for (let i = 0; i < rows; ++i) {
    const v = new Float32Array(dims);
    for (let j = 0; j < dims; ++j) v[j] = Math.sin(i * 7919 + j) * 0.05;
    data.push({ object: 'embedding', index: i,
                embedding: base64 ? Buffer.from(v.buffer).toString('base64') : Array.from(v) });
  }
  return Buffer.from(JSON.stringify({ object: 'list', data, model: 'text-embedding-3-small',
                                      usage: { prompt_tokens: rows * 8, total_tokens: rows * 8 } }));
}
const embeddings = { base64: embeddingBody(true), float: embeddingBody(false) };

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body = completion;
    if (req.url.endsWith('/embeddings')) {
      const base64 = Buffer.concat(chunks).includes('"encoding_format":"base64"');
      body = base64 ? embeddings.base64 : embeddings.float;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length,
                         'x-request-id': 'req_bench' });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
