import io
import json
import logging
import unittest

from app.src.logging_setup import REDACTED, RedactingFormatter, configure_logging, redact


def record(msg, *args, **extra):
    rec = logging.LogRecord("shipshape.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


class RedactionTests(unittest.TestCase):
    def test_redacts_key_value_secrets(self):
        for text in ("password=hunter2", "token: abc.def", "api_key=AKIA123", 'secret="s3cr3t"'):
            with self.subTest(text=text):
                out = redact(text)
                self.assertIn(REDACTED, out)
                for secret in ("hunter2", "abc.def", "AKIA123", "s3cr3t"):
                    self.assertNotIn(secret, out)

    def test_redacts_bearer_tokens(self):
        out = redact("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig")
        self.assertNotIn("eyJhbGciOiJIUzI1NiJ9", out)
        self.assertTrue(out.startswith("Authorization: Bearer "))

    def test_leaves_ordinary_text_alone(self):
        self.assertEqual(redact("served / in 3ms"), "served / in 3ms")


class FormatterTests(unittest.TestCase):
    def test_renders_one_json_object_with_extras(self):
        line = RedactingFormatter("app").format(record("hello %s", "world", path="/readyz"))
        payload = json.loads(line)
        self.assertEqual(payload["message"], "hello world")
        self.assertEqual(payload["level"], "INFO")
        self.assertEqual(payload["component"], "app")
        self.assertEqual(payload["path"], "/readyz")

    def test_secrets_in_extra_fields_are_redacted(self):
        line = RedactingFormatter().format(record("login", password="hunter2"))
        self.assertNotIn("hunter2", line)
        self.assertEqual(json.loads(line)["password"], REDACTED)

    def test_exceptions_are_included_and_redacted(self):
        try:
            raise RuntimeError("token=leaked-value")
        except RuntimeError:
            import sys
            rec = record("boom")
            rec.exc_info = sys.exc_info()
        line = RedactingFormatter().format(rec)
        self.assertIn("RuntimeError", json.loads(line)["exception"])
        self.assertNotIn("leaked-value", line)

    def test_configure_logging_replaces_handlers(self):
        stream = io.StringIO()
        root = logging.getLogger()
        saved = (root.handlers[:], root.level)
        try:
            configure_logging("WARNING", stream=stream)
            configure_logging("INFO", stream=stream)
            self.assertEqual(len(root.handlers), 1)
            logging.getLogger("x").info("visible")
            self.assertEqual(json.loads(stream.getvalue().strip())["message"], "visible")
        finally:
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
