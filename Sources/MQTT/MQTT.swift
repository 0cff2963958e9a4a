// The MQTT client lives here (see MQTTClient.swift).
