// The differential test's oracle: npm @pydantic/genai-prices' calcPrice on each case of a JSON
// file, once with its own data and once with llmkit's per-token prices given as a provider (the
// reference formula applied to llmkit's prices). Prints a JSON array, one result per case:
//   {"total": <calcPrice total or null when it prices no such model>,
//    "model": <the genai-prices model id>, "input_mtok": ..., "output_mtok": ...,
//    "own_total": <calcPrice total with llmkit's prices>}
// Usage: node genai_prices_check.mjs <peers dir> <cases.json>
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [peers, casesFile] = process.argv.slice(2)
const entry = path.join(peers, 'node_modules/@pydantic/genai-prices/dist/index.js')
const { calcPrice } = await import(pathToFileURL(entry).href)
const when = new Date('2026-12-03T12:00:00Z')

function mtok(price) {
  if (!price) return undefined
  const base = price.per_token * 1e6
  if (!price.above.length) return base
  return { base, tiers: price.above.map(([start, p]) => ({ start, price: p * 1e6 })) }
}

const out = []
for (const c of JSON.parse(fs.readFileSync(casesFile, 'utf8'))) {
  const usage = {
    input_tokens: c.usage.input, output_tokens: c.usage.output,
    cache_read_tokens: c.usage.cached_input, cache_write_tokens: c.usage.cache_write,
  }
  if (c.usage.reasoning) usage.output_reasoning_tokens = c.usage.reasoning
  const theirs = calcPrice(usage, c.model, { providerId: c.genai_provider, timestamp: when })
  const result = { total: theirs ? theirs.total_price : null }
  if (theirs) {
    result.model = theirs.model.id
    result.prices = theirs.model_price
  }
  if (c.ours) {
    const prices = {}
    for (const [key, field] of [['input_mtok', 'input'], ['cache_read_mtok', 'cache_read'],
      ['cache_write_mtok', 'cache_write'], ['output_mtok', 'output'],
      ['output_reasoning_mtok', 'reasoning']]) {
      const value = mtok(c.ours[field])
      if (value !== undefined) prices[key] = value
    }
    const provider = {
      id: 'llmkit', name: 'llmkit', api_pattern: 'x',
      models: [{ id: 'm', match: { equals: 'm' }, prices }],
    }
    const own = calcPrice(usage, 'm', { provider, timestamp: when })
    result.own_total = own ? own.total_price : null
  }
  out.push(result)
}
console.log(JSON.stringify(out))
