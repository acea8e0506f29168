/**
 * Public entry of `core/`: the error catalog, configuration, logging, the URI-scheme registry, ids and hashing,
 * and the seeded random generator. Other modules import from here, never from the files behind it.
 *
 * core/ imports nothing else of ours, so every module may depend on it.
 */
export {
  AimassError,
  ERROR_CATALOG,
  ERROR_CODES,
  errors,
  isAimassError,
  isErrorCode,
  toAimassError,
  type AimassErrorJSON,
  type ErrorCode,
} from './errors.js';
export { LOG_LEVELS, homePath, loadConfig, type Config, type LogLevel } from './config.js';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.js';
export { SchemeRegistry, parseUri, type ParsedUri, type SchemeFactory } from './scheme-registry.js';
export { idTime, newId, sha256Hex } from './ids.js';
export { Rng, fmix32, type RngState } from './rng.js';
export { describeIssues, parseWith } from './validate.js';
