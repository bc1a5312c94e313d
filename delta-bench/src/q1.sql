SELECT category,
       count(*) AS n,
       sum(value) AS sum_value,
       avg(value) AS avg_value,
       sum(qty) AS sum_qty,
       avg(qty) AS avg_qty,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM t
WHERE day <= DATE '2024-02-15' AND qty >= 100
GROUP BY category
ORDER BY category
