"""Helpers the tests share: fakes, real processes, sign-in and mail helpers. Tests import from here
(or get fixtures from conftest.py), never from another test module."""
