import { describeBudgets } from './genesis-v2.ts';
import { f16Device } from './gpu.ts';

describeBudgets('lavapipe', f16Device, 'f16');
