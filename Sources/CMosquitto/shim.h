#ifndef PREPULL_CMOSQUITTO_SHIM_H
#define PREPULL_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
/* The multiplexed event loop drives libmosquitto's non-threaded API with epoll; Glibc's Swift
   module does not export these two headers. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/* Names the calling thread (15 bytes kept), so `top -H` and /proc show which thread is the MQTT loop. */
static inline void prepull_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}
#endif
