/** Growing the model for new data (issue 14): sparse upcycling of the most-routed experts, and training only the new ones. */
export { mostRouted, routingCounts } from './counts.ts';
export { type GrowableModel, type GrowthTraining, growModel, grownConfig, growthTraining } from './grow.ts';
export { type GrowthData, grownPayloads, growthPayloads, planGrowth } from './version.ts';
