/**
 * @file status.h
 * @brief Status codes returned by every libsushi function.
 *
 * 0 is success, every error is negative. Values are pinned forever and the
 * table is append-only: a code once released never changes its number or
 * meaning (see docs/abi.md).
 *
 * Added in 0.3 (@since 0.3): SUSHI_ERR_BUSY (a bounded queue is full: the
 * call did not block and nothing was queued), SUSHI_ERR_CANCELLED (a query
 * answered at shutdown without being served), SUSHI_ERR_DROPPED (a query not
 * served because no candidate fit its remaining latency budget under the
 * scheduler's "drop" late policy).
 */
#ifndef SUSHI_STATUS_H
#define SUSHI_STATUS_H

#include "sushi/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** X-macro table: name, value, message. The single source of truth. @since 0.1 */
#define SUSHI_STATUS_MAP(X)                                                   \
    X(OK, 0, "success")                                                       \
    X(ERR_INVALID, -1, "invalid argument")                                    \
    X(ERR_NOMEM, -2, "out of memory")                                         \
    X(ERR_IO, -3, "input/output error")                                       \
    X(ERR_FORMAT, -4, "malformed SuperNet file")                              \
    X(ERR_VERSION, -5, "unsupported format version")                          \
    X(ERR_NOT_FOUND, -6, "not found")                                         \
    X(ERR_RANGE, -7, "value out of range")                                    \
    X(ERR_OVERFLOW, -8, "size overflow")                                      \
    X(ERR_UNSUPPORTED, -9, "operation not supported by this object")          \
    X(ERR_STATE, -10, "call not valid in the object's current state")         \
    X(ERR_EXISTS, -11, "name already registered")                             \
    X(ERR_ABI, -12, "incompatible ABI version or struct size")                \
    X(ERR_INFEASIBLE, -13, "no choice satisfies the constraints")             \
    X(ERR_CONFIG, -14, "malformed or invalid SubNet config")                  \
    X(ERR_INTEGRITY, -15, "checksum mismatch")                                \
    X(ERR_BACKEND, -16, "backend failure")                                    \
    X(ERR_TRUNCATED, -17, "output buffer too small")                          \
    X(ERR_BUSY, -18, "queue full")                                            \
    X(ERR_CANCELLED, -19, "cancelled before it was served")                   \
    X(ERR_DROPPED, -20, "dropped: no candidate fit the remaining budget")

/** Status code. 0 = success, negative = error. @since 0.1 */
typedef enum sushi_status {
#define SUSHI_STATUS_ENUM_(name, value, msg) SUSHI_##name = value,
    SUSHI_STATUS_MAP(SUSHI_STATUS_ENUM_)
#undef SUSHI_STATUS_ENUM_
} sushi_status;

/**
 * Symbolic name of a status, e.g. "SUSHI_ERR_NOMEM".
 * @return a static string; "SUSHI_UNKNOWN" for values not in the table.
 * Thread-safe. @since 0.1
 */
SUSHI_API const char *sushi_status_name(int status);

/**
 * One-line English description of a status.
 * @return a static string; "unknown status" for values not in the table.
 * Thread-safe. @since 0.1
 */
SUSHI_API const char *sushi_status_str(int status);

#ifdef __cplusplus
}
#endif
#endif
