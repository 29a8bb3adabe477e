/**
 * The configuration of the in-process store tests (tests/store_unit_test.ts,
 * tests/store_fs_unit_test.ts): a temp spool's, as root on `node.test.example`, with a condor
 * account nobody has and no wait for a credmon.
 */

import { loadConfig } from "../lib/config/mod.ts";
import type { Spool } from "./harness.ts";

/** The condor account of these tests' node (CONDOR_IDS): uids nobody has. */
export const CONDOR = { uid: 4_000_002, gid: 4_000_003 };

/** The configuration of `spool` with `extra` environment variables on top. */
export function storeConfig(spool: Spool, extra: Record<string, string> = {}) {
  return loadConfig({
    env: {
      ...spool.env,
      _CONDOR_CREDD_POLLING_TIMEOUT: "0",
      _CONDOR_CONDOR_IDS: `${CONDOR.uid}.${CONDOR.gid}`,
      ...extra,
    },
    uid: 0,
    hostname: "node.test.example",
  });
}
