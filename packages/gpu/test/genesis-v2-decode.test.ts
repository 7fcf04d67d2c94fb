import { describeBudgets } from './genesis-v2.ts';
import { gpuDevice } from './gpu.ts';

describeBudgets('SwiftShader', gpuDevice, 'f32');
