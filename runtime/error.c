/* error.c — names of the TR_E* codes, from the table in troupe.h. */
#include <troupe.h>

const char *tr_strerror(int code) {
    switch (code) {
    case TR_OK: return "success";
#define TR_ERRNO_NAME(name, value, text)                                                           \
    case TR_##name: return text;
        TR_ERRNO_MAP(TR_ERRNO_NAME)
#undef TR_ERRNO_NAME
    }
    return code <= TR_EXIT_USER_BASE ? "user exit reason" : "unknown error";
}
