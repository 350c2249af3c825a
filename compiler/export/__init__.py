"""Exports of compiled networks to the formats of other frameworks."""
