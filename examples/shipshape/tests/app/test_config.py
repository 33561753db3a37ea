import unittest

from app.src.config import DEFAULT_MESSAGE, MAX_MESSAGE_LENGTH, ConfigError, load_config


class LoadConfigTests(unittest.TestCase):
    def test_reads_message_and_defaults(self):
        cfg = load_config({"MESSAGE": "hi there"})
        self.assertEqual(cfg.message, "hi there")
        self.assertEqual(cfg.message_source, "env")
        self.assertEqual(cfg.port, 8080)
        self.assertEqual(cfg.log_level, "INFO")
        self.assertFalse(cfg.tracing_enabled)

    def test_missing_message_fails_fast(self):
        with self.assertRaises(ConfigError) as ctx:
            load_config({})
        self.assertIn("MESSAGE", str(ctx.exception))

    def test_blank_message_counts_as_missing(self):
        with self.assertRaises(ConfigError):
            load_config({"MESSAGE": "   "})

    def test_default_message_when_fallback_allowed(self):
        cfg = load_config({"ALLOW_DEFAULT_MESSAGE": "true"})
        self.assertEqual(cfg.message, DEFAULT_MESSAGE)
        self.assertEqual(cfg.message_source, "default")

    def test_invalid_boolean_is_rejected(self):
        with self.assertRaises(ConfigError) as ctx:
            load_config({"MESSAGE": "x", "TRACING_ENABLED": "maybe"})
        self.assertIn("TRACING_ENABLED", str(ctx.exception))

    def test_tracing_can_be_enabled(self):
        self.assertTrue(load_config({"MESSAGE": "x", "TRACING_ENABLED": "ON"}).tracing_enabled)

    def test_port_parsing_and_bounds(self):
        self.assertEqual(load_config({"MESSAGE": "x", "PORT": "9090"}).port, 9090)
        for bad in ("0", "65536", "http"):
            with self.subTest(port=bad), self.assertRaises(ConfigError):
                load_config({"MESSAGE": "x", "PORT": bad})

    def test_log_level_is_normalised_and_validated(self):
        self.assertEqual(load_config({"MESSAGE": "x", "LOG_LEVEL": "debug"}).log_level, "DEBUG")
        with self.assertRaises(ConfigError):
            load_config({"MESSAGE": "x", "LOG_LEVEL": "verbose"})

    def test_message_length_is_limited(self):
        with self.assertRaises(ConfigError):
            load_config({"MESSAGE": "x" * (MAX_MESSAGE_LENGTH + 1)})
