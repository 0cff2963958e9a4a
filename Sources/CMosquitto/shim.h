#ifndef PREPULL_CMOSQUITTO_SHIM_H
#define PREPULL_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
