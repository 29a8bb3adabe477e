/**
 * HTCondor configuration for condor_store_cred (README "Configuration"): the root file,
 * LOCAL_CONFIG_DIR and LOCAL_CONFIG_FILE, `_CONDOR_*` overrides, macros, and the embedded default
 * used when there is no configuration at all. One load is bounded by the budgets
 * `MAX_CONFIG_FILES`, `MAX_CONFIG_BYTES` and `MAX_EXPANSION_STEPS`.
 *
 * @module
 */

export { MAX_CONFIG_BYTES, MAX_CONFIG_FILES, MAX_EXPANSION_STEPS } from "./budget.ts";
export { ConfigError, type ConfigErrorOptions } from "./errors.ts";
export { type Config, loadConfig, type LoadConfigOptions } from "./loader.ts";
export {
  DEFAULT_EXCLUDE_REGEXP,
  KNOB_DEFAULTS,
  KNOBS_WITHOUT_DEFAULT,
  PACKAGED_SOCKET,
} from "./defaults.ts";
