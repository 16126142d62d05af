export { errorMessage } from './error-message.js';
export { NvsecError, type NvsecErrorOptions } from './nvsec-error.js';
