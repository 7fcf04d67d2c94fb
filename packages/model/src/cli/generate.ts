import { parseArgs } from 'node:util';
import { decodeStep, expertsUsed, prefill } from '../reference/inference.ts';
import { Rng } from '../reference/rng.ts';
import type { Routing } from '../reference/routing.ts';
import { sampleToken } from '../reference/sampling.ts';
import { StreamDecoder } from '../tokenizer/stream.ts';
import { readCheckpoint } from '../train/checkpoint.ts';
import { numberArg, requiredArg, runMain } from './args.ts';

const USAGE = `usage: pnpm exec tsx packages/model/src/cli/generate.ts --checkpoint FILE --prompt TEXT [options]
  --max-tokens N      tokens to generate at most (default 200; stops early at <|endoftext|> or the context's end)
  --temperature T     0 = greedy (default 0.8)
  --top-k K           sample among the K most likely tokens (default 0 = all)
  --top-p P           nucleus sampling (default 1 = off)
  --seed S            sampling seed (default 1)
  --routing MODE      dynamic (each token picks its top-K experts) or static (each layer keeps the
                      --experts experts the prompt chose, static-prompt) (default dynamic)
  --experts M         experts per layer for static routing (default nExperts / 2)
Text goes to stdout as it is generated; speed and the experts each layer used go to stderr.`;

const OPTIONS = {
  checkpoint: { type: 'string' },
  prompt: { type: 'string' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  routing: { type: 'string', default: 'dynamic' },
  experts: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { config: cfg, tokenizer, params } = readCheckpoint(requiredArg('checkpoint', values.checkpoint));
  const prompt = requiredArg('prompt', values.prompt);
  const maxTokens = numberArg('max-tokens', values['max-tokens'], { integer: true, min: 1 }) ?? 200;
  const sampling = {
    temperature: numberArg('temperature', values.temperature, { min: 0 }) ?? 0.8,
    topK: numberArg('top-k', values['top-k'], { integer: true, min: 0 }) ?? 0,
    topP: numberArg('top-p', values['top-p'], { min: Number.MIN_VALUE, max: 1 }) ?? 1,
  };
  const rng = new Rng(numberArg('seed', values.seed, { integer: true, min: 0, max: 0xffffffff }) ?? 1);
  if (values.routing !== 'dynamic' && values.routing !== 'static') throw new Error(`--routing must be dynamic or static, got "${values.routing}"`);
  const experts = numberArg('experts', values.experts, { integer: true, min: cfg.topK, max: cfg.nExperts }) ?? Math.max(cfg.topK, cfg.nExperts / 2);
  const routing: Routing = values.routing === 'static' ? { mode: 'static-prompt', expertsPerLayer: experts } : { mode: 'dynamic' };
  const ids = [tokenizer.endOfTextId, ...tokenizer.encode(prompt)];
  if (ids.length >= cfg.contextLength) throw new Error(`the prompt is ${ids.length - 1} tokens; the context holds ${cfg.contextLength} with <|endoftext|> in front`);
  const started = performance.now();
  let { logits, state } = prefill(params, cfg, ids, routing);
  const prefillMs = performance.now() - started;
  const stream = new StreamDecoder(tokenizer);
  process.stdout.write(prompt);
  let generated = 0;
  while (generated < maxTokens) {
    const token = sampleToken(logits, sampling, rng);
    generated++;
    if (token === tokenizer.endOfTextId) break;
    process.stdout.write(stream.push(token));
    if (state.pos >= cfg.contextLength) break;
    logits = decodeStep(state, token);
  }
  process.stdout.write(`${stream.flush()}\n`);
  const decodeMs = performance.now() - started - prefillMs;
  const perLayer = expertsUsed(state)
    .map((used, l) => `  layer ${l}: ${used.join(' ')}${values.routing === 'static' ? ` (static set ${state.allowed[l]?.join(' ')})` : ''}`)
    .join('\n');
  process.stderr.write(
    `prompt ${ids.length} tokens in ${prefillMs.toFixed(0)} ms (${((ids.length * 1000) / prefillMs).toFixed(0)} tok/s); ` +
      `generated ${generated} tokens in ${decodeMs.toFixed(0)} ms (${((generated * 1000) / decodeMs).toFixed(1)} tok/s)\n` +
      `experts used (${values.routing} routing):\n${perLayer}\n`,
  );
}

runMain(main);
