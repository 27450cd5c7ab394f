// The reference for llmkit's agent loop: runs a scenario through npm @openai/agents (the OpenAI
// Agents SDK, Chat Completions API) against a scripted OpenAI-compatible server, and prints what
// happened as JSON: the tools executed in order, the outcome, the final text.
//
//   node openai_agents_oracle.mjs PEERS_DIR BASE_URL SCENARIO
//
// Scenarios (the same ones test_agent_differential.py runs through llmkit):
//   tools       two tools in one turn, then an answer
//   max_turns   the model asks for a tool every turn; maxTurns 3
//   approval    a tool that needs approval; the run is interrupted, approved, resumed
//   rejection   the same, rejected with the message "over the limit"

import { createRequire } from 'node:module';
import path from 'node:path';

const [peers, baseURL, scenario] = process.argv.slice(2);
const require = createRequire(path.join(peers, 'node_modules', 'x.js'));
const agents = require('@openai/agents');
const { default: OpenAI } = await import(require.resolve('openai'));
const { Agent, run, tool, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } = agents;

setTracingDisabled(true);
setDefaultOpenAIClient(new OpenAI({ baseURL, apiKey: 'sk-test', maxRetries: 0 }));
setOpenAIAPI('chat_completions');

const executed = [];
const weather = tool({
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object', properties: { city: { type: 'string' } }, required: ['city'],
    additionalProperties: false,
  },
  strict: false,
  execute: async ({ city }) => { executed.push(['get_weather', { city }]); return `18C in ${city}`; },
});
const transfer = tool({
  name: 'transfer',
  description: 'Sends money',
  parameters: {
    type: 'object', properties: { to: { type: 'string' }, amount: { type: 'number' } },
    required: ['to', 'amount'], additionalProperties: false,
  },
  strict: false,
  needsApproval: scenario === 'approval' || scenario === 'rejection',
  execute: async ({ to, amount }) => {
    executed.push(['transfer', { to, amount }]);
    return `sent ${amount} to ${to}`;
  },
});

const agent = new Agent({
  name: 'assistant', instructions: 'Be brief.', model: 'gpt-4o-mini',
  tools: [weather, transfer],
});

const out = { executed, outcome: 'completed', text: '', interruptions: [] };
try {
  let result = await run(agent, 'Help me.', { maxTurns: 3 });
  if (result.interruptions?.length) {
    out.interruptions = result.interruptions.map((i) => i.rawItem?.name ?? i.name);
    for (const i of result.interruptions) {
      if (scenario === 'approval') result.state.approve(i);
      else result.state.reject(i, { message: 'over the limit' });
    }
    result = await run(agent, result.state, { maxTurns: 3 });
  }
  out.text = result.finalOutput ?? '';
} catch (e) {
  out.outcome = e.constructor?.name === 'MaxTurnsExceededError' ? 'max_turns' : `error: ${e}`;
}
console.log(JSON.stringify(out));
