// The official `openai` npm SDK's side of benchmarks/compare/clients: CHAT chat requests and
// EMBED embedding requests (ROWS inputs each) at CONCURRENCY against BASE_URL; prints the
// process CPU time and wall time of each phase as JSON.
//   node openai_sdk_client.mjs BASE_URL CHAT EMBED ROWS CONCURRENCY
import { createRequire } from 'node:module';
const require = createRequire(process.env.LLMKIT_PEERS_DIR + '/package.json');
const OpenAI = require('openai').default ?? require('openai');

const [baseURL, chat, embed, rows, concurrency] = [process.argv[2], ...process.argv.slice(3).map(Number)];
const client = new OpenAI({ baseURL, apiKey: 'sk-bench', maxRetries: 0 });
const messages = [{ role: 'system', content: 'Answer in one sentence.' },
                  { role: 'user', content: 'What is the capital of France?' }];
const inputs = Array.from({ length: rows }, (_, i) => `document ${i}: some text to embed here`);

async function phase(count, one) {
  let next = 0;
  let check = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      check += await one();
    }
  };
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { requests: count, cpu_seconds: (used.user + used.system) / 1e6, wall_seconds: wall, check };
}

// Warm up the connection pool, then measure.
await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
const chatResult = await phase(chat, async () => {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0 });
  return r.choices[0].message.content.length;
});
const embedResult = await phase(embed, async () => {
  const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: inputs });
  return r.data.length * r.data[0].embedding.length;
});
console.log(JSON.stringify({ chat: chatResult, embed: embedResult }));
