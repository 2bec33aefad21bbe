"""Alembic environment: the store hands its open connection in ``config.attributes``.

For developers making a new revision from the command line:
``alembic -c aggregator/store/alembic.ini revision --autogenerate -m "what changed"``
(the database comes from AGGREGATOR_DATABASE_URL, default the SQLite file under data/).
"""

import os

from alembic import context
from sqlalchemy import create_engine

from aggregator.store.schema import metadata

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("AGGREGATOR_DATABASE_URL", "sqlite:///data/aggregator.db")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
