// review screens (to be written)
import { route } from './core.js';
export { route };
