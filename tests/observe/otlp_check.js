// The OTLP receiver side of observe_test: decodes llmkit's OTLP/JSON exports into the OTLP
// protobuf messages with @opentelemetry/otlp-transformer's generated root (OTLP/JSON rules: ids
// in hex, int64 as strings, enums as numbers), and lists the GenAI names that
// @opentelemetry/semantic-conventions (incubating) defines.
//
//   node otlp_check.js PEERS_DIR names            -> JSON list of every convention name
//   node otlp_check.js PEERS_DIR traces FILE...   -> JSON summary of the decoded spans
//   node otlp_check.js PEERS_DIR metrics FILE...  -> JSON summary of the decoded metrics
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');
const [peers, mode, ...files] = process.argv.slice(2);
const need = (name) => require(require.resolve(name, {paths: [peers]}));

if (mode === 'names') {
  const conventions = need('@opentelemetry/semantic-conventions/incubating');
  const names = Object.entries(conventions)
      .filter(([key, value]) => typeof value === 'string' && /^(ATTR|METRIC)_/.test(key))
      .map(([, value]) => value);
  console.log(JSON.stringify(names));
  process.exit(0);
}

const root = need('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const otlp = root.opentelemetry.proto.collector;
const Request = mode === 'traces' ? otlp.trace.v1.ExportTraceServiceRequest
                                  : otlp.metrics.v1.ExportMetricsServiceRequest;

// OTLP/JSON ids are hex; protobufjs' fromObject takes bytes as base64.
function hexIdsToBase64(value, key) {
  if (Array.isArray(value)) return value.map((v) => hexIdsToBase64(v));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = hexIdsToBase64(v, k);
    return out;
  }
  if (['traceId', 'spanId', 'parentSpanId'].includes(key)) {
    if (!/^([0-9a-f]{2})*$/.test(value)) throw new Error(`${key} is not lowercase hex: ${value}`);
    return Buffer.from(value, 'hex').toString('base64');
  }
  return value;
}

const summary = [];
for (const file of files) {
  let bytes = fs.readFileSync(file);
  // A gzip body (Content-Encoding: gzip) is what the collector gets: it inflates it first.
  if (bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  const json = JSON.parse(bytes.toString('utf8'));
  const message = Request.fromObject(hexIdsToBase64(json));
  const problem = Request.verify(message);
  if (problem) throw new Error(`${file}: ${problem}`);
  // Through the wire format and back: what a collector receives.
  const decoded = Request.toObject(Request.decode(Request.encode(message).finish()),
                                   {longs: String, bytes: String, enums: Number, defaults: false});
  const attributes = (list) => Object.fromEntries((list || []).map((kv) => {
    const v = kv.value || {};
    const value = v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ??
        (v.arrayValue ? v.arrayValue.values.map((x) => x.stringValue) : null);
    return [kv.key, value];
  }));
  if (mode === 'traces') {
    for (const rs of decoded.resourceSpans || []) {
      for (const ss of rs.scopeSpans || []) {
        for (const span of ss.spans || []) {
          summary.push({
            resource: attributes(rs.resource.attributes),
            name: span.name,
            kind: span.kind,
            traceId: Buffer.from(span.traceId, 'base64').toString('hex'),
            spanId: Buffer.from(span.spanId, 'base64').toString('hex'),
            parentSpanId: span.parentSpanId ? Buffer.from(span.parentSpanId, 'base64').toString('hex') : '',
            start: span.startTimeUnixNano,
            end: span.endTimeUnixNano,
            status: span.status ? (span.status.code || 0) : 0,
            attributes: attributes(span.attributes),
          });
        }
      }
    }
  } else {
    for (const rm of decoded.resourceMetrics || []) {
      for (const sm of rm.scopeMetrics || []) {
        for (const metric of sm.metrics || []) {
          const data = metric.histogram || metric.sum;
          summary.push({
            name: metric.name,
            unit: metric.unit,
            kind: metric.histogram ? 'histogram' : 'sum',
            points: (data.dataPoints || []).map((p) => ({
              attributes: attributes(p.attributes),
              count: p.count, sum: p.sum, asInt: p.asInt,
              bucketCounts: p.bucketCounts, explicitBounds: p.explicitBounds,
            })),
          });
        }
      }
    }
  }
}
console.log(JSON.stringify(summary));
