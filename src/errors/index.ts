export { NvsecError, type NvsecErrorOptions } from './nvsec-error.js';
