/** The model as blocks (browser-safe): how it is cut into slots, the meta payload, genesis, and payloads back to weights. */
export { type SlotPlan, expertSlotName, parseExpertSlot, slotDecls, slotPlan } from './slots.ts';
export { type BudgetModes, type ExpertEncoding, type GrowthRecord, META_FORMAT, type MetaPayload, type SplitHashes, archOf, encodeMetaPayload, parseMetaPayload } from './meta-payload.ts';
export { encodeSlotPayload, slotParams, slotTensors, throughBlocks } from './slot-payload.ts';
export { type GenesisModel, type GenesisOptions, type GenesisPayloads, META_SLOT_NAME, genesisBlocks, genesisPayloads, versionBlocks } from './genesis.ts';
