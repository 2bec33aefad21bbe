"""aggregator: drafts a daily migration press digest from news feeds and sites."""

__version__ = "0.1.0"
