import unittest

from controller.src.controller import ConfigError, ControllerConfig

BASE = {"WATCH_NAMESPACE": "shipshape-prod", "CONTROLLER_ENV": "prod", "POD_NAME": "ctrl-0"}


class ControllerConfigTests(unittest.TestCase):
    def test_defaults(self):
        cfg = ControllerConfig.from_env(BASE)
        self.assertEqual(cfg.label_selector, "shipshape.io/reload=true")
        self.assertEqual(cfg.default_target, "shipshape-app")
        self.assertEqual((cfg.debounce_seconds, cfg.max_debounce_seconds), (2.0, 10.0))
        self.assertEqual((cfg.lease_duration_seconds, cfg.lease_renew_seconds), (15, 5))
        self.assertEqual(cfg.health_port, 8081)
        self.assertEqual(cfg.identity, "ctrl-0")

    def test_overrides_are_parsed(self):
        cfg = ControllerConfig.from_env({**BASE, "DEBOUNCE_SECONDS": "0.5", "MAX_RETRIES": "7",
                                         "CONFIGMAP_SELECTOR": "shipshape.io/reload=true,tier!=batch",
                                         "LOG_LEVEL": "debug"})
        self.assertEqual(cfg.debounce_seconds, 0.5)
        self.assertEqual(cfg.max_retries, 7)
        self.assertEqual(cfg.log_level, "DEBUG")

    def test_namespace_and_environment_are_required(self):
        with self.assertRaises(ConfigError) as ctx:
            ControllerConfig.from_env({"POD_NAME": "x"})
        self.assertIn("WATCH_NAMESPACE", str(ctx.exception))
        self.assertIn("CONTROLLER_ENV", str(ctx.exception))

    def test_invalid_selector_is_rejected(self):
        for selector in ("", "a=b,,c=d", "bad key=value", "env in (prod)"):
            with self.subTest(selector=selector), self.assertRaises(ConfigError):
                ControllerConfig.from_env({**BASE, "CONFIGMAP_SELECTOR": selector})

    def test_renew_must_be_shorter_than_lease(self):
        with self.assertRaises(ConfigError) as ctx:
            ControllerConfig.from_env({**BASE, "LEASE_RENEW_SECONDS": "15"})
        self.assertIn("LEASE_RENEW_SECONDS", str(ctx.exception))

    def test_all_problems_are_reported_together(self):
        with self.assertRaises(ConfigError) as ctx:
            ControllerConfig.from_env({**BASE, "DEBOUNCE_SECONDS": "30", "HEALTH_PORT": "0", "LOG_LEVEL": "loud"})
        message = str(ctx.exception)
        for name in ("DEBOUNCE_SECONDS", "HEALTH_PORT", "LOG_LEVEL"):
            self.assertIn(name, message)
