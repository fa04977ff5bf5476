-- The region tree of NetBox 4.7 and later (PostgreSQL ltree), checked in one query; run by
-- `scripts/local-netbox check-tree`. NetBox's triggers (utilities/ltree.py) keep, for every
-- region, path = its parent's path + its own label (its id zero-padded to 19 digits), so the
-- depth is nlevel(path), and sort_path = its parent's sort_path + TAB + its name (NetBox's
-- lists order by sort_path: siblings in name order). Both are recomputed here from the parent
-- links and compared; a region no root reaches (a parent cycle) is a problem too.
-- Prints one JSON object like region_tree_mptt.sql's; "exact" is always true (nothing here
-- depends on deletes). The psql variable exact is accepted and needs no use.
-- a check of a few thousand rows: JIT compiling it would take longer than running it
set jit = off;
with recursive
region as (
    select id, parent_id, name, path::text as path, sort_path from dcim_region
),
walk (id, path, sort_path) as (
    select id, lpad(id::text, 19, '0'), name::text from region where parent_id is null
    union all
    select c.id, w.path || '.' || lpad(c.id::text, 19, '0'), w.sort_path || chr(9) || c.name
    from walk w join region c on c.parent_id = w.id
),
problems (check_name, region_id, detail) as (
    select 'path_not_parent_path_plus_label', r.id,
           jsonb_build_object('id', r.id, 'name', r.name, 'parent_id', r.parent_id, 'path', r.path,
                              'expected', w.path, 'depth', nlevel(r.path::ltree) - 1,
                              'expected_depth', nlevel(w.path::ltree) - 1)
    from region r join walk w on w.id = r.id
    where r.path <> w.path
    union all
    select 'sort_path_not_parent_sort_path_plus_name', r.id,
           jsonb_build_object('id', r.id, 'name', r.name, 'sort_path', r.sort_path, 'expected', w.sort_path)
    from region r join walk w on w.id = r.id
    where r.sort_path is distinct from w.sort_path
    union all
    select 'unreachable_from_a_root', r.id, jsonb_build_object('id', r.id, 'name', r.name, 'parent_id', r.parent_id)
    from region r left join walk w on w.id = r.id where w.id is null
),
summary as (
    select check_name, count(*) as n,
           jsonb_agg(detail order by region_id) filter (where rank <= 10) as examples
    from (select *, row_number() over (partition by check_name order by region_id) as rank from problems) p
    group by check_name
)
select jsonb_build_object(
    'sound', not exists (select 1 from problems),
    'tree', 'ltree',
    'regions', (select count(*) from region),
    'exact', true,
    'problems', coalesce((select jsonb_object_agg(check_name, jsonb_build_object('count', n, 'examples', examples))
                          from summary), '{}'::jsonb)
)::text;
