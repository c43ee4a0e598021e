/* frame.h — the wire format between nodes (node.h): batches of frames,
 * encoded with msgpack-c.
 *
 * A batch is one NATS message: a msgpack stream of
 *   [1, from_node]                                    the header (version 1)
 *   [kind, to, from, type, ref, flags, payload] ...   one array per frame
 * kind, type, ref and flags are unsigned integers (kind and flags < 256,
 * type and ref < 2^32), to and from are pids (int64, from may be 0), the
 * payload is a bin; the arrays are fixarrays (what msgpack-c writes for 2 and
 * 7 elements). Nothing else is accepted: a batch whose header does not
 * parse is dropped whole; a frame that does not parse, has other types or
 * sizes, or a payload over the limit ends the batch (the rest of it cannot
 * be trusted to be aligned) and counts as one bad frame. A batch of no
 * frames is its node's goodbye (node_nats.c).
 *
 * Writers and readers are not thread-safe; each worker has its own writer. */
#ifndef TR_FRAME_H
#define TR_FRAME_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include <troupe.h>

#define TR_FRAME_VERSION 1

typedef struct tr_frame {
    uint8_t kind;  /* TR_KIND_* (msg.h) */
    uint8_t flags; /* TR_MSGF_* (msg.h) */
    tr_pid to, from;
    uint32_t type, ref;
    const char *data; /* payload; when read, points into the batch's buffer */
    uint32_t size;
} tr_frame;

/* A batch being written: a growing buffer (msgpack_sbuffer), reused after
 * tr_batch_reset without allocating again once it has grown. */
typedef struct tr_batch_writer {
    msgpack_sbuffer buf;
    msgpack_packer pk;
    uint32_t frames; /* frames in the batch since the header */
} tr_batch_writer;

void tr_batch_writer_init(tr_batch_writer *bw);
void tr_batch_writer_free(tr_batch_writer *bw);
/* Empties the batch and writes a header for from_node. Call it before the
 * first tr_batch_add. Only the first reset allocates; should that fail, the
 * batch stays empty and tr_batch_add returns TR_ENOMEM. */
void tr_batch_reset(tr_batch_writer *bw, unsigned from_node);
/* Appends f. Returns 0, TR_EINVAL (f->to <= 0 or f->from < 0: the reader
 * would drop it and the rest of the batch) or TR_ENOMEM; on error the batch
 * is as before the call. */
int tr_batch_add(tr_batch_writer *bw, const tr_frame *f);

/* A batch being read: points into the caller's buffer, which must outlive
 * it (frames' data point into it: payloads are not copied). */
typedef struct tr_batch_reader {
    const char *data;
    size_t size, off;
    uint32_t max_payload;
    msgpack_zone zone;  /* the decoded array's elements: one chunk, cleared per frame */
    msgpack_object obj; /* the array just decoded */
    int zone_made;
} tr_batch_reader;

/* Opens a batch of size bytes; frames whose payload exceeds max_payload are
 * bad. Returns 0 and sets *from_node, or TR_EBADMSG (no valid header) or
 * TR_ENOMEM; on error the reader is closed already. */
int tr_batch_open(tr_batch_reader *br, const char *data, size_t size, uint32_t max_payload,
                  unsigned *from_node);
/* The next frame into *f: 1, or 0 at the end of the batch, or TR_EBADMSG
 * for a bad frame or TR_ENOMEM (either ends the batch: 0 after it). f->data
 * stays valid until the reader's buffer goes, not only until the next call. */
int tr_batch_next(tr_batch_reader *br, tr_frame *f);
/* Frees what the reader holds (not the buffer); harmless twice. */
void tr_batch_close(tr_batch_reader *br);

#endif
