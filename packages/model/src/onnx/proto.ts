/**
 * The ONNX protobuf classes (onnx-proto ships them as a CommonJS module whose only export is the
 * `onnx` namespace). Browser-safe: onnx-proto depends on protobufjs alone.
 */
import onnxProto from 'onnx-proto';

export type { onnx } from 'onnx-proto';

export const proto = onnxProto.onnx;
