"""The guidekg command line as a ``spark-submit`` application file.

``spark-submit`` runs a Python file, not a console script or ``python -m``, so a cluster job
names this file::

    spark-submit --master yarn --py-files guidekg-0.1.0-py3-none-any.whl \\
        "$(python -c 'import guidekg.spark_submit as m; print(m.__file__)')" \\
        audit cohort.parquet --engine spark --out audit/

The Spark session then takes spark-submit's master and settings (:func:`guidekg.spark.session`
sets no master of its own). Imports are absolute: the file runs as ``__main__``.
"""

from __future__ import annotations

import sys

from guidekg.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
