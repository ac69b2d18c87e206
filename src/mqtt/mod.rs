//! MQTT 3.1 / 3.1.1 / 5.0: bytes of one TCP direction → control packets.
