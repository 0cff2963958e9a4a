#ifndef PREPULL_MOSQUITTO_READ_BUFFER_H
#define PREPULL_MOSQUITTO_READ_BUFFER_H

/* Buffered socket reads for libmosquitto.
 *
 * libmosquitto reads a packet in pieces straight from the socket: the command byte, each byte of
 * the remaining length, then the rest, one read(2) each. For prepull's small packets that is
 * three to four system calls per packet (the cloud's loop: ~190,000 per 10,000-node job). Its
 * imports of read(2) and close(2), and only its own, are pointed at the functions here (its
 * GOT entries are rewritten once): a read that finds the buffer empty takes up to 64 KiB from
 * the socket and serves libmosquitto's small reads from what it got. A closed descriptor drops
 * what was buffered for it.
 *
 * The caller must keep reading while prepull_mosquitto_read_pending() says bytes wait: epoll
 * cannot see them any more (they left the socket). TLS connections are not affected: libmosquitto
 * reads them through OpenSSL, whose own imports are left alone. */

/* Points libmosquitto's read and close at the buffered versions, once per process (later calls
 * return the first result). 1: installed; 0: not (libmosquitto not found among the loaded
 * objects, no read import in it, or an architecture this file does not know; reads stay direct);
 * -1: disabled by PREPULL_MQTT_READ_BUFFER=0 in the environment. */
int prepull_mosquitto_read_buffer_install(void);

/* What libmosquitto's read and close now call (also for tests, on sockets of their own). */
#include <sys/types.h>
ssize_t prepull_mosquitto_buffered_read(int fd, void *into, size_t count);
int prepull_mosquitto_buffered_close(int fd);

/* Whether bytes read from `fd` are still waiting in the buffer. */
int prepull_mosquitto_read_pending(int fd);

/* Drops what is buffered for `fd` (a descriptor number about to be used for a new socket). */
void prepull_mosquitto_read_discard(int fd);

/* Reads performed through the buffer since the start: calls served, and those that reached the
 * socket (for tests and benchmarks). */
unsigned long prepull_mosquitto_read_calls(void);
unsigned long prepull_mosquitto_read_syscalls(void);

#endif
