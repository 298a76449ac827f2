/* Reaping for a process that is PID 1 of a PID namespace (the sandbox helper
 * of `tsmio run`): orphans of the namespace become its children, and nobody
 * else collects their exit status. libuv waits only for the children it
 * spawned, so the one child whose status it wants is left alone. */
#include "napi_util.h"
#include <sys/wait.h>

/* reapOrphans(keepPid) -> how many exited children were reaped | -errno:
 * collects every exited child except `keepPid` (whose status libuv takes). */
static napi_value reap_orphans_js(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t keep;
  if (!arg_int32(env, argv[0], &keep)) return NULL;
  int reaped = 0;
  for (;;) {
    siginfo_t si = {0};
    /* look without collecting: the kept child must stay for libuv */
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
      if (errno == ECHILD) break;
      return result(env, -errno);
    }
    if (si.si_pid == 0) break;
    /* the kept child ended: libuv collects it, and the helper exits soon after */
    if (si.si_pid == keep) break;
    if (waitpid(si.si_pid, NULL, WNOHANG) > 0) reaped++;
  }
  return result(env, reaped);
}

void init_reap(napi_env env, napi_value exports) {
  register_fn(env, exports, "reapOrphans", reap_orphans_js);
}
