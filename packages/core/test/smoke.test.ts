import type { MessagingSystem } from '../src/types.js';
test('types load', () => { const s: MessagingSystem = 'kafka'; expect(s).toBe('kafka'); });
