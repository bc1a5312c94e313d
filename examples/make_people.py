"""Writes examples/people, the small Delta table `delta demo` reads.

It is written by delta-rs (python `deltalake`, see ../xtask/peer/requirements.txt),
so the demo also shows that we read another implementation's tables:

  v0  create: 5 people, partitioned by city
  v1  append: 3 more people
  v2  delete: the person with id 2
  v3  append with schema evolution: a new nullable column `email`

Run from the repository root: python examples/make_people.py
"""
import datetime
import os
import shutil

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "people")


def people(rows):
    return pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.int64()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "city": pa.array([r[2] for r in rows], pa.string()),
            "born": pa.array([datetime.date.fromisoformat(r[3]) for r in rows], pa.date32()),
            "score": pa.array([r[4] for r in rows], pa.float64()),
        }
    )


def main():
    shutil.rmtree(TABLE, ignore_errors=True)
    write_deltalake(
        TABLE,
        people(
            [
                (1, "Ada", "London", "1815-12-10", 9.5),
                (2, "Alan", "London", "1912-06-23", 9.0),
                (3, "Grace", "New York", "1906-12-09", 8.75),
                (4, "Edsger", "Rotterdam", "1930-05-11", 8.5),
                (5, "Barbara", "New York", "1939-11-07", None),
            ]
        ),
        partition_by=["city"],
        name="people",
        description="the example table of delta-microcrates",
    )
    write_deltalake(
        TABLE,
        people(
            [
                (6, "Donald", "Milwaukee", "1938-01-10", 7.25),
                (7, "Frances", "Cambridge", "1932-08-14", 8.0),
                (8, "Tony", "London", "1934-01-11", 8.25),
            ]
        ),
        mode="append",
    )
    DeltaTable(TABLE).delete("id = 2")
    extra = people([(9, "Margaret", "Boston", "1936-08-17", 9.25)]).append_column(
        "email", pa.array(["margaret@example.com"], pa.string())
    )
    write_deltalake(TABLE, extra, mode="append", schema_mode="merge")
    dt = DeltaTable(TABLE)
    print("version", dt.version(), "rows", dt.to_pyarrow_table().num_rows)


if __name__ == "__main__":
    main()
    os._exit(0)  # deltalake 1.6 + pyarrow 26 can abort in interpreter teardown
