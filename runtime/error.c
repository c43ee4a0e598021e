/* error.c — names of the TR_E* codes. */
#include <troupe.h>

const char *tr_strerror(int code) {
    switch (code) {
    case TR_OK: return "success";
    case TR_EINVAL: return "invalid argument";
    case TR_ENOMEM: return "out of memory";
    case TR_EFULL: return "mailbox full";
    case TR_ENOACTOR: return "no such actor";
    case TR_ETIMEDOUT: return "timed out";
    case TR_EUNHANDLED: return "message not handled";
    case TR_ENOTACTOR: return "not called from an actor";
    case TR_EINACTOR: return "blocking call from an actor";
    case TR_EALREADY: return "message already sent or freed";
    case TR_EEXIST: return "name already registered";
    case TR_ENOTFOUND: return "name not registered";
    case TR_ESTOPPED: return "system stopped";
    case TR_EBADMSG: return "malformed message";
    case TR_ETOOBIG: return "too big";
    case TR_ESYS: return "system call failed";
    }
    return "unknown error";
}
