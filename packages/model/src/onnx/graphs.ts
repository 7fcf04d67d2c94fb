/**
 * Browser-safe entry point: builds the Blyan model's ONNX graphs (opset 17) as model bytes that
 * onnxruntime-node or onnxruntime-web can load, with every parameter a graph input. No Node.js
 * imports; the Node runner is in session.ts.
 */
export { type AttrValue, type Dim, type ElemType, GraphBuilder, OPSET, type Value } from './graph-builder.ts';
export { Graph } from './graph-ops.ts';
export { buildForwardGraph } from './forward-graph.ts';
export { buildRoutedForwardGraph, routedName, routerProbsName } from './inference-graph.ts';
export { buildGradientGraph, buildTrainGraph, trainableSpecs } from './train-graph.ts';
export * as ioNames from './names.ts';
