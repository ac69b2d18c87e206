-- tshark 4.0 does not hand WebSocket payloads to its MQTT dissector: MQTT
-- registers for TCP port 1883, TLS port 8883 and QUIC ALPN "mqtt", not for
-- the WebSocket subprotocol "mqtt" (and the "ws.protocol" table has no
-- Decode As). This hook adds that one registration, nothing else:
--   tshark -X lua_script:scripts/record/mqtt_ws.lua -r samples/ws_mqtt.pcap -Y mqtt
DissectorTable.get("ws.protocol"):add("mqtt", Dissector.get("mqtt"))
