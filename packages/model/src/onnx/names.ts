/**
 * Names of the graphs' inputs and outputs. Parameters keep their checkpoint names ("embed",
 * "layers.0.wq", …); the optimizer's tensors and the updated values are prefixed.
 */
export const TOKENS = 'tokens';
export const TARGETS = 'targets';
/** float [nLayers, nExperts]: 1 where routing may use the expert, 0 where not. */
export const EXPERT_MASKS = 'expert_masks';
/**
 * Inputs of a model with sequence budgets (config.sequenceBudgets), float [batch] each: every
 * sequence's expert budget per layer and the length of its prompt (routing.ts SequenceBudget).
 */
export const EXPERT_BUDGETS = 'expert_budgets';
export const PROMPT_LENGTHS = 'prompt_lengths';
export const LOGITS = 'logits';
export const LOSS = 'loss';
export const CE = 'ce';
export const AUX = 'aux';
/** The mean per-layer locality loss, an output of models with sequence budgets only. */
export const LOCALITY = 'locality';
/** Training inputs: the 1-based number of the step being taken, and the learning rate (float scalars). */
export const STEP = 'step';
export const LR = 'lr';
export const GRAD_NORM = 'grad_norm';

export const gradName = (param: string): string => `grad.${param}`;
export const firstMomentName = (param: string): string => `adam_m.${param}`;
export const secondMomentName = (param: string): string => `adam_v.${param}`;
/** The output carrying the updated value of an input. */
export const nextName = (input: string): string => `next.${input}`;
