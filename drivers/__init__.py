"""Device drivers: transports, wire codecs and one class per device model."""
