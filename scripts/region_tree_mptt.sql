-- The region tree of NetBox 4.4-4.6 (django-mptt: tree_id, lft, rght, level), checked in one
-- query; run by `scripts/local-netbox check-tree` with psql -v exact=auto|on|off.
--
-- Always: every child inside its parent's lft/rght with level + 1 and the same tree_id, roots
-- at level 0 and one tree_id each, lft < rght, no lft/rght value twice in a tree, siblings
-- disjoint and in name order (PostgreSQL sorts the names, as for Region's MPTTMeta
-- order_insertion_by = ('name',)), every region reachable from a root.
-- Exact (on; or auto while the changelog holds no deleted region, since NetBox's deletes
-- leave gaps): tree_id, lft, rght and level equal what Region.objects.rebuild() would write:
-- roots numbered 1, 2, ... in name order, children numbered depth first in name order.
-- Prints one JSON object: {"sound": ..., "tree": "mptt", "regions": N, "exact": ...,
-- "deleted_regions": N, "problems": {check: {"count": N, "examples": [...]}}}.
-- a check of a few thousand rows: JIT compiling it would take longer than running it
set jit = off;
with recursive
region as (
    select id, parent_id, name, tree_id, lft, rght, level from dcim_region
),
sibling as (
    select id,
           row_number() over (partition by parent_id order by name) as by_name,
           row_number() over (partition by parent_id
                              order by case when parent_id is null then tree_id else lft end, id) as by_position
    from region
),
walk (id, root, depth, sort_key, ancestors) as (
    select r.id, r.id, 0, array[s.by_name], array[r.id]
    from region r join sibling s on s.id = r.id
    where r.parent_id is null
    union all
    select c.id, w.root, w.depth + 1, w.sort_key || s.by_name, w.ancestors || c.id
    from walk w join region c on c.parent_id = w.id join sibling s on s.id = c.id
),
descendants as (
    select a.id, count(*) - 1 as n from walk, unnest(walk.ancestors) as a(id) group by a.id
),
expected as (  -- what django-mptt's rebuild() numbers: depth first, siblings in name order
    select w.id, w.sort_key[1] as tree_id, w.depth as level,
           2 * (row_number() over (partition by w.root order by w.sort_key) - 1) - w.depth + 1 as lft
    from walk w
),
deleted as (
    select count(*) as n
    from core_objectchange oc join django_content_type ct on ct.id = oc.changed_object_type_id
    where ct.app_label = 'dcim' and ct.model = 'region' and oc.action = 'delete'
),
settings as (
    select case :'exact' when 'on' then true when 'off' then false else (select n = 0 from deleted) end as exact
),
problems (check_name, region_id, detail) as (
    select 'child_outside_parent', c.id,
           jsonb_build_object('id', c.id, 'name', c.name, 'tree_id', c.tree_id, 'lft', c.lft, 'rght', c.rght,
                              'level', c.level, 'parent', jsonb_build_object('id', p.id, 'name', p.name,
                              'tree_id', p.tree_id, 'lft', p.lft, 'rght', p.rght, 'level', p.level))
    from region c join region p on p.id = c.parent_id
    where c.tree_id <> p.tree_id or c.level <> p.level + 1 or c.lft <= p.lft or c.rght >= p.rght
    union all
    select 'root_not_level_0', id, jsonb_build_object('id', id, 'name', name, 'level', level)
    from region where parent_id is null and level <> 0
    union all
    select 'lft_not_below_rght', id, jsonb_build_object('id', id, 'name', name, 'lft', lft, 'rght', rght)
    from region where lft >= rght
    union all
    select 'roots_share_tree_id', min(id), jsonb_build_object('tree_id', tree_id, 'roots', jsonb_agg(name order by name))
    from region where parent_id is null group by tree_id having count(*) > 1
    union all
    select 'number_used_twice', min(id), jsonb_build_object('tree_id', tree_id, 'value', value, 'regions', jsonb_agg(id order by id))
    from (select id, tree_id, lft as value from region union all select id, tree_id, rght from region) numbers
    group by tree_id, value having count(*) > 1
    union all
    select 'siblings_overlap', id, jsonb_build_object('id', id, 'name', name, 'lft', lft, 'previous_rght', previous_rght)
    from (select id, name, lft, lag(rght) over (partition by parent_id order by lft, id) as previous_rght
          from region where parent_id is not null) s
    where previous_rght >= lft
    union all
    select 'sibling_out_of_name_order', r.id,
           jsonb_build_object('id', r.id, 'name', r.name, 'parent_id', r.parent_id,
                              'position', s.by_position, 'position_by_name', s.by_name)
    from region r join sibling s on s.id = r.id
    where s.by_position <> s.by_name
    union all
    select 'unreachable_from_a_root', r.id, jsonb_build_object('id', r.id, 'name', r.name, 'parent_id', r.parent_id)
    from region r left join walk w on w.id = r.id where w.id is null
    union all
    select 'differs_from_rebuild', r.id,
           jsonb_build_object('id', r.id, 'name', r.name,
                              'actual', jsonb_build_object('tree_id', r.tree_id, 'lft', r.lft, 'rght', r.rght, 'level', r.level),
                              'rebuild', jsonb_build_object('tree_id', e.tree_id, 'lft', e.lft,
                                                            'rght', e.lft + 2 * d.n + 1, 'level', e.level))
    from region r join expected e on e.id = r.id join descendants d on d.id = r.id
    where (select exact from settings)
      and (r.tree_id, r.lft, r.rght, r.level) is distinct from (e.tree_id, e.lft, e.lft + 2 * d.n + 1, e.level)
),
summary as (
    select check_name, count(*) as n,
           jsonb_agg(detail order by region_id) filter (where rank <= 10) as examples
    from (select *, row_number() over (partition by check_name order by region_id) as rank from problems) p
    group by check_name
)
select jsonb_build_object(
    'sound', not exists (select 1 from problems),
    'tree', 'mptt',
    'regions', (select count(*) from region),
    'exact', (select exact from settings),
    'deleted_regions', (select n from deleted),
    'problems', coalesce((select jsonb_object_agg(check_name, jsonb_build_object('count', n, 'examples', examples))
                          from summary), '{}'::jsonb)
)::text;
