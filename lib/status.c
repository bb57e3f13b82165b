#include "internal.h"

const char *sushi_status_name(int status)
{
    switch (status) {
#define SUSHI_STATUS_NAME_(name, value, msg) \
    case value:                              \
        return "SUSHI_" #name;
        SUSHI_STATUS_MAP(SUSHI_STATUS_NAME_)
#undef SUSHI_STATUS_NAME_
    }
    return "SUSHI_UNKNOWN";
}

const char *sushi_status_str(int status)
{
    switch (status) {
#define SUSHI_STATUS_STR_(name, value, msg) \
    case value:                             \
        return msg;
        SUSHI_STATUS_MAP(SUSHI_STATUS_STR_)
#undef SUSHI_STATUS_STR_
    }
    return "unknown status";
}

const char *sushi_version_string(void) { return SUSHI_VERSION_STRING; }

unsigned sushi_version_number(void)
{
    return ((unsigned)SUSHI_VERSION_MAJOR << 16) | ((unsigned)SUSHI_VERSION_MINOR << 8) |
           (unsigned)SUSHI_VERSION_PATCH;
}
