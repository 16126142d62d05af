export { type Flash, FlashStats, SECTOR_SIZE } from './flash.js';
export { ESP_ERR_FLASH_OP_FAIL, FlashError, PowerCutError } from './flash-error.js';
export { MemoryFlash } from './memory-flash.js';
export { PowerCutFlash, type PowerCutOptions } from './power-cut-flash.js';
export { PartitionFlash } from './partition-flash.js';
