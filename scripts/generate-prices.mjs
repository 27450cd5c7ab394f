#!/usr/bin/env node
// Writes src/cost/data/model_prices.json, the price table llmkit bundles, in LiteLLM's
// model_prices_and_context_window.json format, from the data shipped in npm
// @pydantic/genai-prices (MIT; see src/cost/data/NOTICE). Maintainers run it to refresh the
// snapshot:
//   npm install --prefix /tmp/p @pydantic/genai-prices@0.1.8
//   node scripts/generate-prices.mjs /tmp/p/node_modules/@pydantic/genai-prices 2026-12-03
// Only first-party providers are kept (resellers such as OpenRouter price the same names
// differently; load their table with PriceTable::Load). Prices in effect at noon UTC of the given
// date are used. Per-million-token prices become per-token ones; a tier that applies above N*1000
// input tokens becomes LiteLLM's "*_above_<N>k_tokens" field, one above another count N
// llmkit's "*_above_<N>_tokens". A genai-prices rule
// {"starts_with": X} becomes the entry X with "snapshots_share_price": true, which lets llmkit
// price X's dated snapshots (X-2024-08-06, X-20241022, X-0613, X-latest) with it.
import fs from 'node:fs'
import path from 'node:path'

const [pkgDir, date] = process.argv.slice(2)
if (!pkgDir || !/^\d{4}-\d{2}-\d{2}$/.test(date ?? '')) {
  console.error('usage: generate-prices.mjs <@pydantic/genai-prices dir> <YYYY-MM-DD>')
  process.exit(2)
}
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
const { findProvider } = await import(path.resolve(pkgDir, 'dist/index.js'))
const when = new Date(`${date}T12:00:00Z`)

// genai-prices provider id -> LiteLLM's litellm_provider and key prefix ('' = bare names).
const PROVIDERS = [
  ['openai', 'openai', ''], ['anthropic', 'anthropic', ''], ['google', 'gemini', 'gemini/'],
  ['mistral', 'mistral', 'mistral/'], ['deepseek', 'deepseek', 'deepseek/'],
  ['x-ai', 'xai', 'xai/'], ['groq', 'groq', 'groq/'], ['cohere', 'cohere_chat', 'cohere/'],
  ['perplexity', 'perplexity', 'perplexity/'],
]
const FIELDS = {
  input_mtok: 'input_cost_per_token',
  cache_read_mtok: 'cache_read_input_token_cost',
  cache_write_mtok: 'cache_creation_input_token_cost',
  output_mtok: 'output_cost_per_token',
  output_reasoning_mtok: 'output_cost_per_reasoning_token',
}

// The prices genai-prices applies at `when`: the last entry whose constraint holds. A static
// table cannot follow time-of-day prices (DeepSeek's peak hours): those entries get noon UTC's
// and are marked "price_varies_by_time_of_day".
const seconds = (hms) => {
  const [h, m, s] = hms.replace('Z', '').split(':').map(Number)
  return h * 3600 + m * 60 + (s || 0)
}
function pricesAt(model) {
  if (!Array.isArray(model.prices)) return [model.prices, false]
  const byTime = model.prices.some((p) => p.constraint?.type === 'time_of_date')
  const now = when.getUTCHours() * 3600 + when.getUTCMinutes() * 60
  for (let i = model.prices.length - 1; i >= 0; i--) {
    const { constraint, prices } = model.prices[i]
    if (!constraint) return [prices, byTime]
    if (constraint.type === 'start_date' && when >= new Date(constraint.start_date)) {
      return [prices, byTime]
    }
    if (constraint.type === 'time_of_date') {
      const start = seconds(constraint.start_time), end = seconds(constraint.end_time)
      const inside = end < start ? now >= start || now < end : now >= start && now < end
      if (inside) return [prices, byTime]
    }
  }
  return [model.prices[0].prices, byTime]
}

// Per-token value: keep the decimal the data states (3 / 1e6 = 3e-6, not 2.9999999999999997e-6).
const perToken = (mtok) => Number((mtok / 1e6).toPrecision(15))

function names(match, out) {
  if (match.or) for (const m of match.or) names(m, out)
  else if (match.and) {
    const first = match.and.find((m) => m.starts_with || m.equals)
    if (first) names(first, out)
  } else if (match.equals) out.push([match.equals.toLowerCase(), false])
  else if (match.starts_with) out.push([match.starts_with.toLowerCase(), true])
  return out
}

const table = {}
let models = 0, skipped = 0
for (const [id, provider, prefix] of PROVIDERS) {
  for (const model of findProvider({ providerId: id }).models) {
    const [prices, byTime] = pricesAt(model)
    if (typeof prices.input_mtok === 'undefined' && typeof prices.output_mtok === 'undefined') {
      skipped++
      continue
    }
    const entry = {}
    if (model.context_window) entry.max_input_tokens = model.context_window
    for (const [from, to] of Object.entries(FIELDS)) {
      const value = prices[from]
      if (value === undefined) continue
      if (typeof value === 'number') { entry[to] = perToken(value); continue }
      entry[to] = perToken(value.base)
      for (const tier of value.tiers) {
        const above = tier.start % 1000 === 0 ? `${tier.start / 1000}k` : `${tier.start}`
        const field = `${to}_above_${above}_tokens`
        entry[field] = perToken(tier.price)
      }
    }
    entry.litellm_provider = provider
    entry.mode = 'chat'
    if (byTime) entry.price_varies_by_time_of_day = true
    const keys = names(model.match, [])
    if (keys.length === 0) keys.push([model.id.toLowerCase(), false])
    models++
    for (const [name, prefixMatch] of keys) {
      const key = prefix + name
      if (key in table) continue  // genai-prices takes the first model whose rule matches.
      table[key] = prefixMatch ? { ...entry, snapshots_share_price: true } : { ...entry }
    }
  }
}
const out = {
  sample_spec: {
    source: `npm @pydantic/genai-prices@${pkg.version} (MIT), prices in effect on ${date}`,
    generated_by: 'scripts/generate-prices.mjs',
  },
}
for (const key of Object.keys(table).sort()) out[key] = table[key]
const file = new URL('../src/cost/data/model_prices.json', import.meta.url)
fs.writeFileSync(file, JSON.stringify(out, null, 1) + '\n')
console.log(`${Object.keys(table).length} entries from ${models} models (${skipped} not priced per token)`)
